package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.eval.GenerationScores;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk audio score-generation} in-process, with a tones-vs-chirps classifier trained on test-data/audio. */
class AudioGenerationCommandsTest {
    static final Path DATA = AudioCommandsTest.DATA;
    @TempDir
    Path dir;

    private Path folder(String name, String... files) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        for (String f : files) Files.copy(DATA.resolve(f), d.resolve(f));
        return d;
    }

    private static double[][] probabilities(Path calls) throws Exception {
        List<String> lines = Files.readAllLines(calls);
        double[][] p = new double[lines.size() - 1][];
        for (int i = 1; i < lines.size(); i++) {
            String[] f = lines.get(i).split("\t");
            p[i - 1] = new double[f.length - 2];
            for (int c = 2; c < f.length; c++) p[i - 1][c - 2] = Double.parseDouble(f[c]);
        }
        return p;
    }

    @Test
    void scoresAgreeWithClassifyAndASetIsAtDistanceZeroFromItself() throws Exception {
        Path tones = folder("tones", "tone-16k-16bit.wav", "tone-22k-32bit.wav", "stereo-16k-24bit.wav");
        Path chirps = folder("chirps", "chirp-8k-8bit.wav", "chirp-16k-float.wav");
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(new String[]{"audio", "train-classifier", "--out", run.toString(), "--sample-rate", "8000", "--d-model", "16",
                "--layers", "1", "--seq-len", "64", "--batch", "8", "--steps", "20", "--lr", "0.01", "--holdout", "0.25", "--checkpoint-every", "0",
                "--threads", "2", "--class", "tone=" + tones, "--class", "chirp=" + chirps});
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();

        // The IS and mIS of the generated set are those of audio classify's probabilities for the same clips.
        Path calls = dir.resolve("calls.tsv");
        r = MainTest.run(new String[]{"audio", "classify", "--model", model, "--input", tones.toString(), "--output", calls.toString(), "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        double[][] p = probabilities(calls);
        Path json = dir.resolve("scores.json"), plots = dir.resolve("pngs");
        r = MainTest.run(new String[]{"audio", "score-generation", "--model", model, "--generated", tones.toString(), "--real", DATA.toString(),
                "--output", json.toString(), "--plot", plots.toString(), "--plot-clips", "2", "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        JsonNode n = new ObjectMapper().readTree(json.toFile());
        assertEquals(GenerationScores.inceptionScore(p), n.at("/generated/inception_score").asDouble(), 1e-4);
        assertEquals(GenerationScores.modifiedInceptionScore(p), n.at("/generated/modified_inception_score").asDouble(), 1e-3);
        assertEquals(3, n.at("/generated/clips").asInt());
        assertEquals(5, n.at("/real/clips").asInt());
        assertEquals(5, n.at("/real/predicted/tone").asInt() + n.at("/real/predicted/chirp").asInt());
        assertEquals(n.at("/generated/inception_score").asDouble() / n.at("/real/inception_score").asDouble(), n.get("inception_score_ratio").asDouble(), 1e-12);
        double fd = n.get("frechet_distance").asDouble();
        assertTrue(fd > 1e-6, "3 tones are not distributed as the 5 mixed clips: " + fd);
        assertTrue(n.has("frechet_distance_real_halves"), n.toString());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("generated") && l.contains(String.format(java.util.Locale.ROOT, "%.4f", fd))), r.out());
        try (var s = Files.list(plots)) {
            assertEquals(4, s.count(), "waveform + spectrogram of 2 clips");
        }
        assertTrue(r.err().contains("resampled to 8000 Hz"), r.err());

        // A set against itself: distance 0 and the same scores on both rows.
        Path self = dir.resolve("self.json");
        r = MainTest.run(new String[]{"audio", "score-generation", "--model", model, "--generated", DATA.toString(), "--real", DATA.toString(),
                "--output", self.toString(), "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        JsonNode m = new ObjectMapper().readTree(self.toFile());
        assertEquals(0, m.get("frechet_distance").asDouble(), 1e-6);
        assertEquals(m.at("/real/inception_score").asDouble(), m.at("/generated/inception_score").asDouble(), 1e-12);

        // Real clips from a manifest (the committed digits' test half: 10 clips).
        Path fromManifest = dir.resolve("manifest.json");
        r = MainTest.run(new String[]{"audio", "score-generation", "--model", model, "--generated", tones.toString(), "--real-manifest",
                DATA.resolve("digits/test.tsv").toString(), "--output", fromManifest.toString(), "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        assertEquals(10, new ObjectMapper().readTree(fromManifest.toFile()).at("/real/clips").asInt());

        // One real clip cannot give a covariance: one line, exit 1, no output.
        Path bad = dir.resolve("bad.json");
        r = MainTest.run(new String[]{"audio", "score-generation", "--model", model, "--generated", tones.toString(), "--real",
                DATA.resolve("chirp-8k-8bit.wav").toString(), "--output", bad.toString()});
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("a Frechet distance needs at least 2 clips, got 1"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(bad));
    }
}
