package org.ssmtk.audio.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ManifestTest {
    static final Path DATA = Path.of("..", "test-data", "audio").toAbsolutePath().normalize();
    @TempDir
    Path dir;

    private Path manifest(String text) throws IOException {
        Files.copy(DATA.resolve("tone-16k-16bit.wav"), dir.resolve("tone.wav"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path m = dir.resolve("m.tsv");
        Files.writeString(m, text);
        return m;
    }

    @Test
    void pathsAreRelativeToTheManifestAndSegmentsAreCut() throws Exception {
        Path m = manifest("path\tlabel\tstart\tend\n# a comment\n\ntone.wav\tA\ntone.wav\tB\t0.1\t0.3\ntone.wav\t\t-\t0.25\n" + DATA.resolve("chirp-8k-8bit.wav") + "\n");
        Manifest man = Manifest.read(m);
        assertEquals(4, man.entries().size());
        assertEquals(dir.resolve("tone.wav"), man.entries().get(0).path());
        assertEquals(java.util.List.of("A", "B"), man.labels());
        assertNull(man.entries().get(2).label());
        assertEquals(m + ":5", man.entries().get(1).where(), "line numbers count the header, comment and blank line");
        assertEquals(dir.resolve("tone.wav") + ":0.1-0.3", man.entries().get(1).id());
        assertEquals(dir.resolve("tone.wav") + ":-0.25", man.entries().get(2).id());

        var clips = AudioInput.read(man, 16000);
        assertEquals(8000, clips.get(0).samples().length);
        assertEquals(3200, clips.get(1).samples().length, "0.1 s to 0.3 s at 16 kHz");
        assertEquals(4000, clips.get(2).samples().length);
        float[] whole = clips.get(0).samples();
        assertEquals(whole[1600], clips.get(1).samples()[0], 0f, "the segment starts at sample 0.1 * 16000");
        assertEquals(1600, AudioInput.read(man.entries().get(1), 8000).samples().length, "cut at the file's rate, then resampled");
        assertTrue(assertThrows(IOException.class, man::requireLabels).getMessage().startsWith(m + ":6: no label"));
    }

    @Test
    void errorsNameFileAndLine() throws Exception {
        assertProblem("tone.wav\tA\nmissing.wav\tB\n", ":2: no such file");
        assertProblem("tone.wav\tA\t0.5\t0.2\n", ":1: end 0.2 is not after start 0.5");
        assertProblem("tone.wav\tA\tsoon\n", ":1: start 'soon' is not a number of seconds");
        assertProblem("tone.wav\tA\t-1\n", ":1: start -1 must be a finite number of seconds >= 0");
        assertProblem("tone.wav\tA\t0\t1\textra\n", ":1: has 5 columns");
        assertProblem("\tA\n", ":1: empty path");
        assertProblem("# nothing\n", "no clips in this manifest");
        Path m = manifest("tone.wav\tA\t0\t0.4\ntone.wav\tA\t0.2\t0.9\n");
        Manifest man = Manifest.read(m);
        AudioInput.read(man.entries().get(0), 16000);
        String msg = assertThrows(IOException.class, () -> AudioInput.read(man.entries().get(1), 16000)).getMessage();
        assertTrue(msg.startsWith(m + ":2: end 0.9 s is past the end of"), msg);
        Files.write(dir.resolve("cut.wav"), java.util.Arrays.copyOf(Files.readAllBytes(DATA.resolve("tone-16k-16bit.wav")), 30));
        Path bad = manifest("cut.wav\tA\n");
        msg = assertThrows(IOException.class, () -> AudioInput.read(Manifest.read(bad), 16000)).getMessage();
        assertTrue(msg.startsWith(bad + ":1: " + dir.resolve("cut.wav")), msg);
    }

    private void assertProblem(String text, String expected) throws IOException {
        Path m = manifest(text);
        String msg = assertThrows(IOException.class, () -> Manifest.read(m)).getMessage();
        assertTrue(msg.startsWith(m.toString()) && msg.contains(expected), msg);
    }
}
