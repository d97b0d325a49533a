package org.ssmtk.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.io.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.io.SafeTensorsWriter;
import org.ssmtk.core.nn.MambaModel;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

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
        Result cuda = run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "1", "--device", "cuda");
        assertEquals(1, cuda.code());
        assertTrue(cuda.err().contains("--device cuda"), cuda.err());
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
}
