package org.ssmtk.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.io.SafeTensorsWriter;
import org.ssmtk.core.nn.MambaModel;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line in-process: exit codes, messages, outputs. */
class MainTest {
    /** The reference fixture, shared with core-ssm's tests. */
    static Path model;
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @BeforeAll
    static void locateFixture() {
        model = Path.of("..", "test-data", "fixtures", "tiny-mamba").toAbsolutePath().normalize();
        assertTrue(Files.isDirectory(model), "fixture at " + model);
    }

    @Test
    void forwardWritesTheReferenceLogitsAndHiddenStates() throws Exception {
        Path out = dir.resolve("out.safetensors");
        Result r = run("model", "forward", "--model", model.toString(), "--input", model.resolve("reference.safetensors").toString(),
                "--output", out.toString(), "--hidden-states", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsReader ours = SafeTensorsReader.open(out); SafeTensorsReader ref = SafeTensorsReader.open(model.resolve("reference.safetensors"))) {
            for (String name : new String[]{"logits", "hidden_states.0", "hidden_states.1", "hidden_states.2"}) {
                assertTrue(Arrays.equals(ref.info(name).shape(), ours.info(name).shape()), name + " shape");
                float[] a = ours.floats(name);
                double[] b = ref.doubles(name);
                double num = 0, den = 0;
                for (int i = 0; i < a.length; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
                assertTrue(Math.sqrt(num / den) < 1e-5, name + " relative error " + Math.sqrt(num / den));
            }
        }
    }

    @Test
    void badInputsFailWithOneLineAndNoOutputFile() throws Exception {
        Path out = dir.resolve("never.safetensors");
        Path ids = dir.resolve("ids.safetensors");
        new SafeTensorsWriter().putI64("input_ids", new long[]{1, 2, 40}, 1, 3).write(ids);
        Result r = run("model", "forward", "--model", model.toString(), "--input", ids.toString(), "--output", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("input_ids[2] = 40 is outside the model's vocabulary of 12"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Path corrupt = dir.resolve("corrupt.safetensors");
        Files.write(corrupt, Arrays.copyOf(Files.readAllBytes(ids), 30));
        r = run("model", "forward", "--model", model.toString(), "--input", corrupt.toString(), "--output", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(corrupt.toString()), r.err());

        r = run("model", "forward", "--model", dir.resolve("nope").toString(), "--input", ids.toString(), "--output", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no such directory"), r.err());
        assertFalse(Files.exists(out), "no output after a failure");
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".partial")), "no temporary files left");
        }
    }

    @Test
    void greedyGenerationEqualsRepeatedFullForwards() throws Exception {
        Result r = run("model", "generate", "--model", model.toString(), "--prompt-ids", "1,7,3,3", "--max-new", "12");
        assertEquals(0, r.code(), r.err());
        int[] got = Arrays.stream(r.out().strip().split(",")).mapToInt(Integer::parseInt).toArray();
        assertEquals(12, got.length);
        // independent of the recurrent state: a full forward over the growing sequence each time
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel m = MambaModel.load(cpu, MambaCheckpoint.load(model));
            int[] seq = {1, 7, 3, 3};
            for (int g = 0; g < 12; g++) {
                float[] logits = m.forward(seq, 1, seq.length);
                int best = 0, off = (seq.length - 1) * 12;
                for (int v = 1; v < 12; v++) if (logits[off + v] > logits[off + best]) best = v;
                assertEquals(best, got[g], "token " + g);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = best;
            }
        }
    }

    @Test
    void promptsOfDifferentLengthsInOneBatchGiveWhatEachGivesAlone(@TempDir Path tmp) throws Exception {
        Path prompts = tmp.resolve("prompts.txt");
        Files.writeString(prompts, "# three prompts\n1,7,3,3\n\n5\n2, 9, 4, 4, 1, 0, 6\n");
        Result r = run("model", "generate", "--model", model.toString(), "--prompts", prompts.toString(), "--max-new", "9");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().strip().split("\n");
        String[] alone = {"1,7,3,3", "5", "2,9,4,4,1,0,6"};
        assertEquals(alone.length, lines.length, r.out());
        for (int i = 0; i < alone.length; i++) {
            Result one = run("model", "generate", "--model", model.toString(), "--prompt-ids", alone[i], "--max-new", "9");
            assertEquals(one.out().strip(), lines[i], "prompt " + alone[i]);
        }
        Files.writeString(prompts, "1,2\n3,x\n");
        Result bad = run("model", "generate", "--model", model.toString(), "--prompts", prompts.toString(), "--max-new", "2");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains(prompts + ":2: 'x' is not a token id"), bad.err());
        Result both = run("model", "generate", "--model", model.toString(), "--prompts", prompts.toString(), "--prompt-ids", "1",
                "--max-new", "2");
        assertEquals(1, both.code());
        assertTrue(both.err().contains("give exactly one of --prompt-ids and --prompts"), both.err());
    }

    @Test
    void stopTokenEndsGenerationAndSamplingIsSeeded() {
        Result a = run("model", "generate", "--model", model.toString(), "--prompt-ids", "2", "--max-new", "40", "--temperature", "1.3", "--seed", "5");
        Result b = run("model", "generate", "--model", model.toString(), "--prompt-ids", "2", "--max-new", "40", "--temperature", "1.3", "--seed", "5");
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out(), "same seed, same tokens");
        String[] ids = a.out().strip().split(",");
        assertEquals(40, ids.length);
        String stop = ids[5];
        int firstStop = Arrays.asList(ids).indexOf(stop);
        Result s = run("model", "generate", "--model", model.toString(), "--prompt-ids", "2", "--max-new", "40", "--temperature", "1.3",
                "--seed", "5", "--stop-token", stop);
        assertEquals(String.join(",", Arrays.copyOf(ids, firstStop + 1)), s.out().strip());
    }

    @Test
    void helpVersionAndUsageErrors() {
        assertEquals(0, run("--help").code());
        assertTrue(run("--version").out().startsWith("ssmtk "));
        assertEquals(0, run("model", "--help").code());
        Result h = run("model", "forward", "--help");
        assertEquals(0, h.code());
        assertTrue(h.out().contains("--hidden-states"));
        assertEquals(1, run().code());
        assertEquals(1, run("nonsense").code());
        assertEquals(1, run("model", "nonsense").code());
        Result missing = run("model", "forward", "--model", model.toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("missing required options --input, --output"), missing.err());
        // --device cuda: ExitCodesTest.deviceCudaRunsOnAGpuAndIsRefusedWithoutOne (the answer depends on the host)
        Result threads = run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "1", "--threads", "zero");
        assertEquals(1, threads.code());
    }

    @Test
    void infoListsTensorsAndCountsParameters() {
        Result r = run("model", "info", "--model", model.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("parameters       17,760"), r.out());
        assertTrue(r.out().contains("backbone.layers.1.mixer.x_proj.weight"), r.out());
    }

    @Test
    void benchPrintsATable() {
        Result r = run("bench", "forward", "--models", "tiny", "--lengths", "64,128", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("tiny") && l.contains(" 128 ")), r.out());
    }

    static double relativeError(float[] a, double[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
        return Math.sqrt(num / den);
    }

    @Test
    void forwardWithLossAndGradsMatchesTheReference() throws Exception {
        Path out = dir.resolve("grads.safetensors");
        Result r = run("model", "forward", "--model", model.toString(), "--input", model.resolve("reference.safetensors").toString(),
                "--output", out.toString(), "--grads", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsReader ours = SafeTensorsReader.open(out); SafeTensorsReader ref = SafeTensorsReader.open(model.resolve("reference.safetensors"))) {
            assertEquals(ref.doubles("loss")[0], ours.floats("loss")[0], 1e-5 * Math.abs(ref.doubles("loss")[0]));
            int grads = 0;
            for (String name : ref.tensors().keySet()) {
                if (!name.startsWith("grad.")) continue;
                grads++;
                assertTrue(ours.contains(name), "missing " + name);
                assertTrue(Arrays.equals(ref.info(name).shape(), ours.info(name).shape()), name + " shape");
                double e = relativeError(ours.floats(name), ref.doubles(name));
                assertTrue(e < 1e-4, name + " relative error " + e);
            }
            assertTrue(grads > 10, "the fixture holds the gradients");
            assertTrue(relativeError(ours.floats("logits"), ref.doubles("logits")) < 1e-5);
        }
    }

    @Test
    void forwardWithLossAloneMatchesTheReferenceAndWritesNoGradients() throws Exception {
        Path out = dir.resolve("loss.safetensors");
        Result r = run("model", "forward", "--model", model.toString(), "--input", model.resolve("reference.safetensors").toString(),
                "--output", out.toString(), "--loss", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsReader ours = SafeTensorsReader.open(out); SafeTensorsReader ref = SafeTensorsReader.open(model.resolve("reference.safetensors"))) {
            assertEquals(ref.doubles("loss")[0], ours.floats("loss")[0], 1e-5 * Math.abs(ref.doubles("loss")[0]));
            assertTrue(relativeError(ours.floats("logits"), ref.doubles("logits")) < 1e-5);
            assertFalse(ours.tensors().keySet().stream().anyMatch(n -> n.startsWith("grad.")), ours.tensors().keySet().toString());
        }
    }

    /** A token file of a learnable pattern (counting mod 11 with strides 1 and 2). */
    Path countingTokens(String name) throws Exception {
        byte[] b = new byte[4000];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (i / 500 % 2 == 0 ? i % 11 : (2 * i) % 11);
        Path f = dir.resolve(name);
        Files.write(f, b);
        return f;
    }

    @Test
    void lmTrainLearnsResumesAndPlots() throws Exception {
        Path data = countingTokens("tokens.bin"), out = dir.resolve("run");
        String[] common = {"lm", "train", "--preset", "tiny", "--data", data.toString(), "--data-format", "u8", "--out", out.toString(),
                "--seq-len", "32", "--batch", "4", "--lr", "5e-3", "--checkpoint-every", "10", "--threads", "2"};
        Result first = run(concat(common, "--steps", "20"));
        assertEquals(0, first.code(), first.err());
        assertTrue(Files.isRegularFile(out.resolve("model/model.safetensors")));
        assertTrue(Files.size(out.resolve("loss.png")) > 1000, "a loss curve");
        Result again = run(concat(common, "--steps", "30"));
        assertEquals(1, again.code(), "an existing run is not overwritten without --resume");
        assertTrue(again.err().contains("--resume"), again.err());
        Result resumed = run(concat(common, "--steps", "30", "--resume"));
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("steps 21..30"), resumed.out());
        var lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(3, lines.size(), "log every 10 steps: " + lines);
        double firstLoss = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(0)).get("loss").asDouble();
        double lastLoss = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines.get(2)).get("loss").asDouble();
        assertTrue(lastLoss < firstLoss, firstLoss + " -> " + lastLoss);
    }

    @Test
    void lmTrainRejectsBadDataWithOneLine() throws Exception {
        Path odd = dir.resolve("odd.bin");
        Files.write(odd, new byte[]{1, 2, 3});
        Result r = run("lm", "train", "--preset", "tiny", "--data", odd.toString(), "--data-format", "u16", "--out", dir.resolve("x").toString(),
                "--steps", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains(odd.toString()) && r.err().contains("uint16") && r.err().lines().count() == 1, r.err());
        Path big = dir.resolve("big.bin");
        Files.write(big, new byte[]{1, 2, (byte) 200});
        Result vocab = run("lm", "train", "--preset", "tiny", "--data", big.toString(), "--data-format", "u8", "--out", dir.resolve("y").toString(),
                "--steps", "1");
        assertEquals(1, vocab.code());
        assertTrue(vocab.err().contains("200") && vocab.err().contains("vocabulary"), vocab.err());
        assertFalse(Files.exists(dir.resolve("y/model")));
    }

    @Test
    void gpusIsCheckedInOneLine() throws Exception {
        Path data = dir.resolve("d.bin");
        Files.write(data, new byte[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        Result cpu = run("lm", "train", "--preset", "tiny", "--data", data.toString(), "--data-format", "u8", "--out", dir.resolve("a").toString(),
                "--steps", "1", "--seq-len", "4", "--gpus", "2");
        assertEquals(1, cpu.code(), cpu.err());
        assertTrue(cpu.err().contains("--gpus 2") && cpu.err().contains("--device cuda"), cpu.err());
        Result uneven = run("lm", "train", "--preset", "tiny", "--data", data.toString(), "--data-format", "u8", "--out", dir.resolve("b").toString(),
                "--steps", "1", "--seq-len", "4", "--gpus", "2", "--accumulate", "3", "--device", "cuda");
        assertEquals(1, uneven.code(), uneven.err());
        assertTrue(uneven.err().contains("--accumulate 3 must be a multiple of --gpus 2"), uneven.err());
        // on a machine without GPUs: says so in one line (and on one with fewer than asked, how many it has)
        Result many = run("lm", "train", "--preset", "tiny", "--data", data.toString(), "--data-format", "u8", "--out", dir.resolve("c").toString(),
                "--steps", "1", "--seq-len", "4", "--gpus", "64", "--device", "cuda");
        assertEquals(1, many.code(), many.err());
        // the run's one header line, then the error in one line
        assertEquals(1, many.err().lines().filter(l -> l.contains("--gpus 64:")).count(), many.err());
        assertTrue(many.err().strip().lines().count() <= 2, many.err());
        assertFalse(Files.exists(dir.resolve("c/model")));
    }

    @Test
    void syntheticTasksPrintATableAndWriteResults() throws Exception {
        Path out = dir.resolve("sc");
        Result r = run("synthetic", "selective-copying", "--train", "48", "--eval", "48,96", "--memorize", "4", "--steps", "3",
                "--batch", "4", "--eval-samples", "8", "--variants", "selective,non-selective", "--d-model", "16", "--out", out.toString(),
                "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().lines().filter(l -> l.startsWith("selective-copying")).count() == 4, r.out());
        assertTrue(r.out().contains("non-selective"), r.out());
        assertTrue(Files.readString(out.resolve("results.json")).contains("\"eval_len\" : 96"));
        assertTrue(Files.size(out.resolve("accuracy.png")) > 1000);
        assertTrue(Files.isRegularFile(out.resolve("non-selective/model/config.json")));
        Result curriculum = run("synthetic", "induction-heads", "--train", "16@2,32", "--eval", "32", "--steps", "3", "--batch", "2",
                "--eval-samples", "4", "--d-model", "16", "--threads", "1");
        assertEquals(0, curriculum.code(), curriculum.err());
        assertTrue(curriculum.err().contains("length 16@2,32"), curriculum.err());
        Result badCurriculum = run("synthetic", "induction-heads", "--train", "16,32", "--steps", "1");
        assertEquals(1, badCurriculum.code());
        assertTrue(badCurriculum.err().contains("L@STEP"), badCurriculum.err());
        Result bad = run("synthetic", "induction-heads", "--steps", "1", "--eval", "3");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("length >= 4"), bad.err());
    }

    /** --eval-every: accuracy at every evaluation length during training, as lines and OUT/<variant>/eval.jsonl. */
    @Test
    void syntheticEvaluatesDuringTrainingAndTakesTheDeltaRange() throws Exception {
        Path out = dir.resolve("ih");
        Result r = run("synthetic", "induction-heads", "--train", "16", "--eval", "16,32", "--steps", "4", "--batch", "2",
                "--eval-samples", "4", "--eval-every", "2", "--d-model", "16", "--dt-min", "1e-5", "--out", out.toString(), "--threads", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("step 2 accuracy 16:") && r.err().contains("step 4 accuracy 16:"), r.err());
        List<String> lines = Files.readAllLines(out.resolve("selective/eval.jsonl"));
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(1).contains("\"step\":4") && lines.get(1).contains("\"32\""), lines.get(1));
        assertTrue(Files.readString(out.resolve("selective/model/config.json")).contains("\"time_step_min\" : 1.0E-5"));
        Result bad = run("synthetic", "induction-heads", "--steps", "1", "--dt-min", "0.5", "--dt-max", "0.1");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--dt-min"), bad.err());
    }

    static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
