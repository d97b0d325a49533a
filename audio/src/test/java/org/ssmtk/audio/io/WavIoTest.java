package org.ssmtk.audio.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WavIoTest {
    static final Path DATA = Path.of("..", "test-data", "audio").toAbsolutePath().normalize();
    @TempDir
    Path dir;

    @Test
    void decodesEveryTestFileAtItsRateAndDepth() throws Exception {
        check("tone-16k-16bit.wav", 16000, 8000, 1, 16, false, 0.5);
        check("chirp-8k-8bit.wav", 8000, 4000, 1, 8, false, 0.5);
        check("stereo-16k-24bit.wav", 16000, 6400, 2, 24, false, 0.33); // max of (0.5 sin t + 0.25 sin 2t) / 2 is about 0.325
        check("tone-22k-32bit.wav", 22050, 6615, 1, 32, false, 0.5);
        check("chirp-16k-float.wav", 16000, 4800, 1, 32, true, 0.8);
    }

    private static void check(String name, int rate, int frames, int channels, int bits, boolean floating, double peak) throws Exception {
        WavReader.Clip c = WavReader.read(DATA.resolve(name));
        assertEquals(rate, c.sampleRate(), name);
        assertEquals(frames, c.samples().length, name);
        assertEquals(channels, c.channels(), name);
        assertEquals(bits, c.bitsPerSample(), name);
        assertEquals(floating, c.floating(), name);
        double max = 0;
        for (float s : c.samples()) max = Math.max(max, Math.abs(s));
        assertTrue(max <= peak + 0.01 && max > peak * 0.5, name + " peak " + max);
    }

    @Test
    void stereoIsTheMeanOfItsChannels() throws Exception {
        // Left 0.5 sin(330 Hz), right 0.25 sin(660 Hz): the first sample after zero is their mean.
        float[] s = WavReader.read(DATA.resolve("stereo-16k-24bit.wav")).samples();
        double l = 0.5 * Math.sin(2 * Math.PI * 330 / 16000), r = 0.25 * Math.sin(2 * Math.PI * 660 / 16000);
        assertEquals((l + r) / 2, s[0], 1e-6);
    }

    @Test
    void writeThenReadRoundTrips16Bit() throws Exception {
        float[] x = new float[1000];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i * 0.05) * 0.9f;
        Path f = dir.resolve("out.wav");
        WavWriter.write(f, x, 16000);
        WavReader.Clip c = WavReader.read(f);
        assertEquals(16000, c.sampleRate());
        assertEquals(1, c.channels());
        assertEquals(16, c.bitsPerSample());
        for (int i = 0; i < x.length; i++) assertEquals(x[i], c.samples()[i], 1.0 / 32768);
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file is left behind");
        }
    }

    @Test
    void resamplingKeepsLengthAndPitch() throws Exception {
        float[] x = WavReader.read(DATA.resolve("chirp-8k-8bit.wav")).samples();
        float[] up = Resampling.resample(x, 8000, 16000);
        assertEquals(2 * x.length, up.length);
        float[] tone = WavReader.read(DATA.resolve("tone-22k-32bit.wav")).samples();
        float[] down = Resampling.resample(tone, 22050, 16000);
        assertEquals(Math.round(tone.length * 16000.0 / 22050), down.length);
        // A 523.25 Hz tone crosses zero ~2 x 523.25 times a second, at any sample rate.
        int crossings = 0;
        for (int i = 1000; i < 4000; i++) if ((down[i - 1] < 0) != (down[i] < 0)) crossings++;
        assertEquals(2 * 523.25 * 3000 / 16000, crossings, 2);
        double max = 0;
        for (int i = 500; i < down.length - 500; i++) max = Math.max(max, Math.abs(down[i]));
        assertEquals(0.5, max, 0.03);
    }

    @Test
    void brokenFilesNameTheFile() throws Exception {
        byte[] good = Files.readAllBytes(DATA.resolve("tone-16k-16bit.wav"));
        Path truncated = dir.resolve("truncated.wav");
        Files.write(truncated, Arrays.copyOf(good, 1000));
        assertProblem(truncated, "truncated");
        Path notWav = dir.resolve("text.wav");
        Files.writeString(notWav, "hello, not audio at all");
        assertProblem(notWav, "not a WAV");
        Path headerOnly = dir.resolve("header.wav");
        Files.write(headerOnly, Arrays.copyOf(good, 20));
        assertProblem(headerOnly, "truncated");
        Path empty = dir.resolve("empty.wav");
        WavWriter.write(empty, new float[0], 16000);
        assertProblem(empty, "zero-length");
        Path adpcm = dir.resolve("adpcm.wav");
        byte[] a = good.clone();
        ByteBuffer.wrap(a).order(ByteOrder.LITTLE_ENDIAN).putShort(20, (short) 2).putShort(34, (short) 4).putShort(32, (short) 1);
        Files.write(adpcm, a);
        assertProblem(adpcm, "unsupported WAV encoding");
    }

    private static void assertProblem(Path f, String text) {
        WavException e = assertThrows(WavException.class, () -> WavReader.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(text), e.getMessage());
    }

    @Test
    void folderInputIsSortedAndResampled() throws Exception {
        var clips = AudioInput.readAll(DATA, 16000);
        assertEquals(5, clips.size());
        assertEquals("chirp-16k-float.wav", clips.get(0).file().getFileName().toString());
        assertEquals(8000, clips.get(1).samples().length); // 0.5 s at 8 kHz, now at 16 kHz
        assertArrayEquals(clips.get(0).original().samples(), clips.get(0).samples());
    }

    /** Issue 15: NaN samples in a float WAV were scored as if fine. */
    @Test
    void nonFiniteSamplesInAFloatWavAreAnErrorNamingTheFile() throws Exception {
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY}) {
            int frames = 100;
            ByteBuffer b = ByteBuffer.allocate(44 + 4 * frames).order(ByteOrder.LITTLE_ENDIAN);
            b.put("RIFF".getBytes()).putInt(36 + 4 * frames).put("WAVE".getBytes()).put("fmt ".getBytes()).putInt(16)
                    .putShort((short) 3).putShort((short) 1).putInt(8000).putInt(8000 * 4).putShort((short) 4).putShort((short) 32)
                    .put("data".getBytes()).putInt(4 * frames);
            for (int i = 0; i < frames; i++) b.putFloat(i == 50 ? bad : (float) Math.sin(i / 5.0) * 0.5f);
            Path f = Files.write(dir.resolve("nan-" + bad + ".wav"), b.array());
            assertProblem(f, "sample 50 (at 0.006 s) is not a finite number");
        }
    }

    /** Found by ParserFuzzTest: a chunk size near 4 GiB wrapped the chunk walk around (IndexOutOfBoundsException, exit 2). */
    @Test
    void aHugeChunkSizeIsAnErrorNotACrash() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36).put("WAVE".getBytes()).put("LIST".getBytes()).putInt(0x7ffffff8).put(new byte[24]);
        Path f = Files.write(dir.resolve("huge-chunk.wav"), b.array());
        assertProblem(f, "no fmt chunk");
    }
}
