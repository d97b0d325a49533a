package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk audio train-classifier / classify} in-process: test-data/audio's tones vs chirps. */
class AudioClassifierCommandsTest {
    static final Path DATA = AudioCommandsTest.DATA;
    @TempDir
    Path dir;

    private Path classDir(String name, String... files) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        for (String f : files) Files.copy(DATA.resolve(f), d.resolve(f));
        return d;
    }

    private static String[] train(Path out, String... classes) {
        List<String> a = new java.util.ArrayList<>(List.of("audio", "train-classifier", "--out", out.toString(), "--sample-rate", "8000",
                "--d-model", "16", "--layers", "1", "--seq-len", "64", "--batch", "8", "--steps", "40", "--lr", "0.01", "--holdout", "0.25",
                "--checkpoint-every", "0", "--threads", "2", "--log-every", "10"));
        for (String c : classes) { a.add("--class"); a.add(c); }
        return a.toArray(String[]::new);
    }

    @Test
    void tonesVersusChirps() throws Exception {
        Path tones = classDir("tones", "tone-16k-16bit.wav", "tone-22k-32bit.wav", "stereo-16k-24bit.wav");
        Path chirps = classDir("chirps", "chirp-8k-8bit.wav", "chirp-16k-float.wav");
        Path out = dir.resolve("run");
        MainTest.Result r = MainTest.run(train(out, "tone=" + tones, "chirp=" + chirps));
        assertEquals(0, r.code(), r.err());
        JsonNode eval = new ObjectMapper().readTree(out.resolve("eval.json").toFile());
        double acc = eval.get("accuracy").asDouble();
        assertTrue(acc > 0.7, "held-out accuracy " + acc + "\n" + eval);
        assertTrue(eval.has("roc_auc") || eval.toString().contains("auc"), eval.toString());

        Path tsv = dir.resolve("calls.tsv");
        r = MainTest.run(new String[]{"audio", "classify", "--model", out.resolve("model").toString(), "--input", DATA.toString(),
                "--output", tsv.toString(), "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(tsv);
        assertEquals("path\tlabel\tp_tone\tp_chirp", lines.get(0));
        assertEquals(6, lines.size());
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split("\t");
            assertEquals(4, f.length, l);
            assertEquals(1.0, Double.parseDouble(f[2]) + Double.parseDouble(f[3]), 1e-4, l);
        }
    }

    @Test
    void badInputsFailInOneLineAndWriteNothing() throws Exception {
        Path tones = classDir("tones", "tone-16k-16bit.wav");
        Path out = dir.resolve("bad");
        MainTest.Result r = MainTest.run(train(out, "tone=" + tones));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("at least 2 classes"), r.err());
        r = MainTest.run(train(out, "tone=" + tones, "chirp=" + dir.resolve("missing")));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no such file or folder"), r.err());
        assertFalse(Files.exists(out));

        // A language model (no head) cannot classify.
        Path lm = dir.resolve("lm");
        r = MainTest.run(AudioCommandsTest.trainLm(tones, lm, "--steps", "1"));
        assertEquals(0, r.code(), r.err());
        Path tsv = dir.resolve("x.tsv");
        r = MainTest.run(new String[]{"audio", "classify", "--model", lm.resolve("model").toString(), "--input", tones.toString(),
                "--output", tsv.toString()});
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no classification head"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(tsv));
    }
}
