package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.audio.AudioSettings;
import org.ssmtk.audio.io.WavReader;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk audio train-lm / generate} in-process on test-data/audio. */
class AudioCommandsTest {
    static final Path DATA = Path.of("..", "test-data", "audio").toAbsolutePath().normalize();
    @TempDir
    Path dir;

    static String[] trainLm(Path input, Path out, String... more) {
        String[] base = {"audio", "train-lm", "--input", input.toString(), "--out", out.toString(), "--sample-rate", "8000", "--d-model", "16",
                "--layers", "1", "--seq-len", "64", "--batch", "2", "--eval-windows", "4", "--checkpoint-every", "2", "--threads", "2",
                "--log-every", "1"};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    /** Issue 20: long audio contexts train with sequence-length warmup, at constant samples per step. */
    @Test
    void sequenceLengthWarmupDoublesTheWindowAtConstantSamplesPerStep() throws Exception {
        Path out = dir.resolve("slw");
        MainTest.Result r = MainTest.run(trainLm(DATA, out, "--steps", "6", "--seq-len-warmup", "16", "--seq-len-warmup-steps", "4"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("ssmtk audio train-lm: sequence-length warmup: 16 samples x 8 windows at steps 1..2"), r.err());
        assertTrue(r.err().contains("sequence-length warmup: 32 samples x 4 windows at steps 3..4"), r.err());
        assertTrue(r.err().contains("sequence-length warmup: 64 samples x 2 windows at steps 5..end"), r.err());
        java.util.List<String> lines = java.nio.file.Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(6, lines.size());
        for (int i = 0; i < lines.size(); i++) // 2 x 64 samples every step, whatever the stage's length
            assertEquals(128L * (i + 1), new ObjectMapper().readTree(lines.get(i)).get("tokens").asLong(), lines.get(i));

        r = MainTest.run(trainLm(DATA, dir.resolve("slw2"), "--steps", "6", "--seq-len-warmup-steps", "4"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("go together"), r.err());
        r = MainTest.run(trainLm(DATA, dir.resolve("slw3"), "--steps", "6", "--seq-len-warmup", "64", "--seq-len-warmup-steps", "2"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("must be below the target length"), r.err());
        assertTrue(!java.nio.file.Files.exists(dir.resolve("slw3").resolve("model")));
    }

    /** Issue 20: a fresh model's initial Δ range is an option, so long windows can start with channels that remember them. */
    @Test
    void freshModelsInitialTimeStepsComeFromDtMinAndDtMax() throws Exception {
        Path out = dir.resolve("dt");
        // one step at lr ~0 (warmup's first step) leaves the draw where the initializer put it
        MainTest.Result r = MainTest.run(trainLm(DATA, out, "--steps", "1", "--lr", "1e-9", "--dt-min", "1e-6", "--dt-max", "1e-5"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("initial Δ in [1.00000e-06, 1.00000e-05]"), r.err());
        org.ssmtk.core.nn.MambaCheckpoint model = org.ssmtk.core.nn.MambaCheckpoint.load(out.resolve("model"));
        assertEquals(1e-6, model.config().timeStepMin(), 0);
        assertEquals(1e-6, model.config().timeStepFloor(), 0, "the floor must not lift the draw back to 1e-4");
        float[] bias = model.parameters().get("backbone.layers.0.mixer.dt_proj.bias").data();
        double lo = Double.MAX_VALUE, hi = 0;
        for (float b : bias) {
            double dt = Math.log1p(Math.exp(b)); // softplus
            lo = Math.min(lo, dt);
            hi = Math.max(hi, dt);
        }
        assertTrue(lo >= 0.99e-6 && hi <= 1.01e-5 && hi / lo > 3, "softplus(dt_proj.bias) in [" + lo + ", " + hi + "]");

        r = MainTest.run(trainLm(DATA, dir.resolve("dt2"), "--steps", "1", "--dt-min", "0.5"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--dt-min 0.5 is above --dt-max 0.1"), r.err());
        r = MainTest.run(trainLm(DATA, dir.resolve("dt3"), "--steps", "1", "--model", out.resolve("model").toString(), "--dt-min", "1e-4"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--dt-min and --dt-max shape a fresh model"), r.err());
    }

    /** Issue 20: --draw-length cuts long draws into --seq-len windows, warmup stages included; what does not divide is refused. */
    @Test
    void drawLengthCutsDrawsIntoWindows() throws Exception {
        Path out = dir.resolve("draw"); // trainLm's windows: 2 x 64 samples a step
        MainTest.Result r = MainTest.run(trainLm(DATA, out, "--steps", "4", "--draw-length", "128",
                "--seq-len-warmup", "32", "--seq-len-warmup-steps", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("sequence-length warmup: 32 samples x 4 windows at steps 1..2"), r.err());
        assertEquals(4 * 128, new ObjectMapper().readTree(Files.readAllLines(out.resolve("metrics.jsonl")).get(3)).get("tokens").asLong());
        r = MainTest.run(trainLm(DATA, dir.resolve("draw2"), "--steps", "1", "--draw-length", "96"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--draw-length 96 is not a multiple of --seq-len 64"), r.err());
        r = MainTest.run(trainLm(DATA, dir.resolve("draw3"), "--steps", "1", "--draw-length", "256"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--batch 2 x --seq-len 64 is not a multiple of --draw-length 256"), r.err());
    }

    @Test
    void trainThenGenerateAWav() throws Exception {
        Path out = dir.resolve("run");
        MainTest.Result r = MainTest.run(trainLm(DATA, out, "--steps", "3"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("5 files"), r.err());
        // Issue 20: what reading changed is said once, as one line, with counts.
        assertTrue(r.err().contains("ssmtk audio train-lm: 1 of 5 clips had 2 channels, mixed down to mono (mean of the channels); "
                + "4 of 5 clips resampled to 8000 Hz (from 16000 Hz: 3, 22050 Hz: 1)\n"), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.contains("resampled")).count(), r.err());
        assertTrue(r.out().contains("bits/sample"), r.out());
        Path model = out.resolve("model");
        assertEquals(new AudioSettings(8000, "mu-law"), AudioSettings.read(model));
        JsonNode eval = new ObjectMapper().readTree(out.resolve("eval.json").toFile());
        double bps = eval.get("bits_per_sample").asDouble();
        // An untrained 256-way softmax sits near 8 bits; three steps must not be wildly off.
        assertTrue(bps > 2 && bps < 10, "bits per sample " + bps);

        r = MainTest.run(trainLm(DATA, out, "--steps", "4", "--resume"));
        assertEquals(0, r.code(), r.err());
        assertEquals(4, new ObjectMapper().readTree(out.resolve("eval.json").toFile()).get("step").asInt());
        r = MainTest.run(trainLm(DATA, out, "--steps", "5", "--resume", "--quantization", "linear"));
        assertEquals(1, r.code(), "a resumed run refuses other audio settings");

        Path wav = dir.resolve("gen.wav");
        r = MainTest.run(new String[]{"audio", "generate", "--model", model.toString(), "--seconds", "0.1", "--output", wav.toString(),
                "--seed", "3", "--top-k", "50", "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("samples/s"), r.err());
        WavReader.Clip c = WavReader.read(wav);
        assertEquals(8000, c.sampleRate());
        assertEquals(800, c.samples().length);
        assertEquals(1, c.channels());

        Path cont = dir.resolve("cont.wav");
        r = MainTest.run(new String[]{"audio", "generate", "--model", model.toString(), "--seconds", "0.01", "--output", cont.toString(),
                "--prompt", DATA.resolve("chirp-8k-8bit.wav").toString(), "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("after a 4,000-sample prompt"), r.err());
        assertEquals(80, WavReader.read(cont).samples().length);

        // --count: one batch of clips into a folder. Greedy, every clip is the single greedy clip; sampled, they differ.
        Path one = dir.resolve("greedy.wav"), many = dir.resolve("greedy-many");
        r = MainTest.run(new String[]{"audio", "generate", "--model", model.toString(), "--seconds", "0.02", "--output", one.toString(),
                "--temperature", "0", "--prompt", DATA.resolve("chirp-8k-8bit.wav").toString(), "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        r = MainTest.run(new String[]{"audio", "generate", "--model", model.toString(), "--seconds", "0.02", "--output", many.toString(),
                "--temperature", "0", "--prompt", DATA.resolve("chirp-8k-8bit.wav").toString(), "--count", "3", "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        float[] single = WavReader.read(one).samples();
        for (String f : new String[]{"000.wav", "001.wav", "002.wav"})
            org.junit.jupiter.api.Assertions.assertArrayEquals(single, WavReader.read(many.resolve(f)).samples(), 0, f);
        Path sampled = dir.resolve("sampled");
        r = MainTest.run(new String[]{"audio", "generate", "--model", model.toString(), "--seconds", "0.05", "--output", sampled.toString(),
                "--count", "2", "--seed", "5", "--plot", "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("2 clips x 400 samples"), r.err());
        org.junit.jupiter.api.Assertions.assertFalse(java.util.Arrays.equals(WavReader.read(sampled.resolve("000.wav")).samples(),
                WavReader.read(sampled.resolve("001.wav")).samples()), "two sampled clips differ");
        assertTrue(Files.exists(sampled.resolve("001.spectrogram.png")));

        // --prompts: clips of different lengths and rates continued in one batch; greedy, each file is that prompt's single run
        Path list = dir.resolve("prompts.txt");
        Files.writeString(list, "# two clips\n" + DATA.resolve("chirp-8k-8bit.wav") + "\n" + DATA.resolve("tone-16k-16bit.wav") + "\n");
        Path batch = dir.resolve("prompted");
        r = MainTest.run(new String[]{"audio", "generate", "--model", model.toString(), "--seconds", "0.02", "--output", batch.toString(),
                "--temperature", "0", "--prompts", list.toString(), "--count", "2", "--with-prompt", "--threads", "2"});
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("2 prompts x 2 clips x 160 samples"), r.err());
        String[] wavs = {"chirp-8k-8bit.wav", "tone-16k-16bit.wav"};
        for (int p = 0; p < 2; p++) {
            Path alone = dir.resolve("alone-" + p + ".wav");
            r = MainTest.run(new String[]{"audio", "generate", "--model", model.toString(), "--seconds", "0.02", "--output", alone.toString(),
                    "--temperature", "0", "--prompt", DATA.resolve(wavs[p]).toString(), "--with-prompt", "--threads", "2"});
            assertEquals(0, r.code(), r.err());
            float[] expected = WavReader.read(alone).samples();
            for (int k = 0; k < 2; k++) {
                String f = String.format("%03d-%03d.wav", p, k);
                org.junit.jupiter.api.Assertions.assertArrayEquals(expected, WavReader.read(batch.resolve(f)).samples(), 0, f);
            }
        }
        Files.writeString(list, DATA.resolve("chirp-8k-8bit.wav") + "\nmissing.wav\n");
        r = MainTest.run(new String[]{"audio", "generate", "--model", model.toString(), "--seconds", "0.02", "--output",
                dir.resolve("never").toString(), "--prompts", list.toString()});
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(list + ":2: no such file"), r.err());
        assertTrue(Files.notExists(dir.resolve("never")));
    }

    @Test
    void singleFileHoldsOutItsTailAndBadWavsNameTheFile() throws Exception {
        MainTest.Result r = MainTest.run(trainLm(DATA.resolve("tone-16k-16bit.wav"), dir.resolve("one"), "--steps", "1"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("1 files, 4,000 samples at 8000 Hz"), r.err());
        assertTrue(r.err().contains("400 held out"), r.err());

        Path broken = dir.resolve("broken");
        Files.createDirectories(broken);
        Files.write(broken.resolve("cut.wav"), java.util.Arrays.copyOf(Files.readAllBytes(DATA.resolve("tone-16k-16bit.wav")), 500));
        r = MainTest.run(trainLm(broken, dir.resolve("bad"), "--steps", "1"));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("cut.wav: truncated WAV"), r.err());

        r = MainTest.run(new String[]{"audio", "generate", "--model", DATA.toString(), "--seconds", "1", "--output", dir.resolve("x.wav").toString()});
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("audio.json"), r.err());
    }
}
