package org.ssmtk.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.device.BackendUnavailableException;
import org.ssmtk.core.device.Backends;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exit 1 for what the user must fix, exit 2 (named an internal error) for bugs, whatever their exception type. */
class ExitCodesTest {
    @TempDir
    Path dir;

    /** A command whose run throws what {@code failure} throws. */
    private static MainTest.Result failing(Callable<Exception> failure) {
        Command c = new Command() {
            public String name() { return "fails"; }

            public String summary() { return "throws"; }

            public List<Opt<?>> options() { return List.of(); }

            public int run(org.apache.commons.cli.CommandLine cl, PrintStream out, PrintStream err) throws Exception {
                throw failure.call();
            }
        };
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.execute("ssmtk test fails: ", c, new String[0], new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new MainTest.Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void bugsExitTwoAndSaySo() {
        for (RuntimeException bug : List.of(new IllegalArgumentException("shapes (2, 3) and (3, 2) differ"),
                new IllegalStateException("no value for parameter x"), new ArithmeticException("integer overflow"))) {
            MainTest.Result r = failing(() -> bug);
            assertEquals(Main.INTERNAL, r.code(), r.err());
            assertTrue(r.err().startsWith("ssmtk test fails: internal error"), r.err());
            assertTrue(r.err().contains(bug.getClass().getName()) && r.err().contains(bug.getMessage()), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
        }
    }

    @Test
    void theUsersProblemsExitOneWithTheirMessage() {
        assertEquals(new MainTest.Result(Main.BAD_INPUT, "", "ssmtk test fails: --x must be positive\n"),
                failing(() -> new UsageException("--x must be positive")));
        assertEquals(new MainTest.Result(Main.BAD_INPUT, "", "ssmtk test fails: a.fa: no such file\n"),
                failing(() -> new NoSuchFileException("a.fa")));
        assertEquals(new MainTest.Result(Main.BAD_INPUT, "", "ssmtk test fails: --device cuda: no usable CUDA GPU (none)\n"),
                failing(() -> new BackendUnavailableException("--device cuda: no usable CUDA GPU (none)")));
    }

    @Test
    void inputThatLowerLayersRefuseWithIllegalArgumentStillExitsOne() throws Exception {
        // a preset name the lookup does not know
        MainTest.Result preset = MainTest.run("model", "init", "--preset", "huge", "--out", dir.resolve("m").toString());
        assertEquals(1, preset.code(), preset.err());
        assertTrue(preset.err().contains("--preset: unknown model preset 'huge'"), preset.err());
        // a length the synthetic task cannot use
        MainTest.Result len = MainTest.run("synthetic", "induction-heads", "--steps", "1", "--train", "3", "--eval", "16");
        assertEquals(1, len.code(), len.err());
        assertTrue(len.err().contains("--train: induction heads needs length >= 4"), len.err());
        // bf16 on the CPU
        Path model = Path.of("..", "test-data", "fixtures", "tiny-mamba").toAbsolutePath().normalize();
        MainTest.Result bf16 = MainTest.run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "1",
                "--precision", "bf16");
        assertEquals(1, bf16.code(), bf16.err());
        assertTrue(bf16.err().contains("--precision bf16 needs --device cuda"), bf16.err());
        // Mamba-2's SSD products on the CPU, and one that is no way of multiplying
        MainTest.Result ssd = MainTest.run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "1",
                "--ssd-products", "tf32");
        assertEquals(1, ssd.code(), ssd.err());
        assertTrue(ssd.err().contains("--ssd-products needs --device cuda"), ssd.err());
        ssd = MainTest.run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "1", "--ssd-products", "tf16");
        assertEquals(1, ssd.code(), ssd.err());
        assertTrue(ssd.err().contains("--ssd-products must be tf32x3, tf32 or fp32, got 'tf16'"), ssd.err());
        // a read with a byte that is no base letter
        assertEquals("r.fq: read r1: base 3 is '!', not a SAM/FASTQ base letter",
                assertThrowsUsage(() -> DnaClassifyReadsCommand.readIds("r.fq", "r1", "AC!T".getBytes(StandardCharsets.US_ASCII), new long[1])));
    }

    private static String assertThrowsUsage(org.junit.jupiter.api.function.Executable e) {
        return org.junit.jupiter.api.Assertions.assertThrows(UsageException.class, e).getMessage();
    }

    /** --device cuda must run where a GPU opens and be refused in one line (exit 1) where none does. */
    @Test
    void deviceCudaRunsOnAGpuAndIsRefusedWithoutOne() {
        boolean gpu;
        try (Backend b = Backends.open("cuda", 0, s -> {})) {
            gpu = true;
        } catch (BackendUnavailableException e) {
            gpu = false;
        }
        Path model = Path.of("..", "test-data", "fixtures", "tiny-mamba").toAbsolutePath().normalize();
        MainTest.Result r = MainTest.run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "3", "--device", "cuda");
        MainTest.Result cpu = MainTest.run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "3", "--threads", "1");
        assertEquals(0, cpu.code(), cpu.err());
        if (gpu) {
            assertEquals(0, r.code(), r.err());
            assertEquals(3, r.out().strip().split(",").length, r.out());
        } else {
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().startsWith("ssmtk model generate: --device cuda: "), r.err());
            assertEquals(1, r.err().lines().count(), r.err());
            assertFalse(r.err().contains("internal error"), r.err());
        }
    }

    /** Issue 15: a huge config value overflowed an int deep in the initializer (exit 2); it is the config's fault. */
    @Test
    void hugeConfigValuesAreBadInputNamingTheFields() throws Exception {
        String[][] cases = {{"\"vocab_size\": 2000000000", "vocab_size x hidden_size (the embeddings) is 128000000000 elements"},
                {"\"hidden_size\": 99999999999", "hidden_size is 99999999999, more than a 32-bit integer holds"},
                {"\"intermediate_size\": 1500000000", "2 x intermediate_size x hidden_size (in_proj)"},
                {"\"state_size\": 4000000000", "state_size is 4000000000"}};
        for (String[] c : cases) {
            Path cfg = Files.writeString(dir.resolve("c.json"), "{\"hidden_size\": 64, \"num_hidden_layers\": 1, \"vocab_size\": 16, " + c[0] + "}");
            MainTest.Result r = MainTest.run("model", "init", "--config", cfg.toString(), "--out", dir.resolve("m").toString());
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains(c[1]), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }

    /**
     * Issue 15: a config.json of 2^31 - 1 layers ran out of memory (exit 2) building a fresh model, and
     * listing the parameters of a saved one; both are the config's fault, said before anything is allocated.
     */
    @Test
    void aConfigTooDeepForItsWeightsOrTheHeapIsBadInput() throws Exception {
        String deep = "{\"hidden_size\": 64, \"num_hidden_layers\": 2147483647, \"vocab_size\": 16}";
        Path cfg = Files.writeString(dir.resolve("deep.json"), deep);
        MainTest.Result init = MainTest.run("model", "init", "--config", cfg.toString(), "--out", dir.resolve("m").toString());
        assertEquals(1, init.code(), init.err());
        assertTrue(init.err().contains("more than this JVM's whole heap") && init.err().contains("num_hidden_layers"), init.err());
        assertEquals(1, init.err().strip().lines().count(), init.err());
        assertFalse(Files.exists(dir.resolve("m")));
        // a real model's weights under a config that claims 2^31 - 1 layers
        Path model = Files.createDirectories(dir.resolve("lying"));
        for (String f : new String[]{"model.safetensors"}) Files.copy(MainTest.model.resolve(f), model.resolve(f));
        Files.writeString(model.resolve("config.json"), deep);
        MainTest.Result info = MainTest.run("model", "forward", "--model", model.toString(), "--input",
                MainTest.model.resolve("reference.safetensors").toString(), "--output", dir.resolve("o.safetensors").toString());
        assertEquals(1, info.code(), info.err());
        assertTrue(info.err().contains("config.json: describes at least") && info.err().contains("bytes"), info.err());
        assertFalse(Files.exists(dir.resolve("o.safetensors")));
    }

    /**
     * Issue 15: {@code --batch 2147483647} overflowed an int in the samplers (exit 2). Every trainer and
     * batched scorer checks batch x length against the model before it reads data or writes a file, and
     * a config whose shape makes a normal batch overflow is caught the same way.
     */
    @Test
    void hugeBatchTimesLengthIsBadInputBeforeAnythingIsWritten() throws Exception {
        Path genomics = DnaCommandsTest.DATA, out = dir.resolve("out");
        Path tokens = Files.write(dir.resolve("tokens.u8"), new byte[4096]);
        // d_inner 8 with 2^18 states: every parameter fits, but x_proj's output at 64 x 4096 tokens would not
        Path wide = Files.writeString(dir.resolve("wide.json"),
                "{\"hidden_size\": 4, \"num_hidden_layers\": 1, \"vocab_size\": 16, \"state_size\": 262144, \"time_step_rank\": 1}");
        String max = Integer.toString(Integer.MAX_VALUE);
        String[][] cases = {
                {"dna", "pretrain", "--fasta", genomics.resolve("small.fa").toString(), "--preset", "tiny", "--steps", "1", "--batch", max},
                {"dna", "pretrain", "--fasta", genomics.resolve("small.fa").toString(), "--preset", "tiny", "--steps", "1", "--batch", "65536",
                        "--seq-len", "65536"},
                {"dna", "pretrain", "--fasta", genomics.resolve("small.fa").toString(), "--config", wide.toString(), "--steps", "1",
                        "--batch", "64", "--seq-len", "4096"},
                {"dna", "train-classifier", "--class", "A=" + genomics.resolve("class-a.fa"), "--class", "B=" + genomics.resolve("class-b.fa"),
                        "--preset", "tiny", "--steps", "1", "--batch", max},
                {"audio", "train-lm", "--input", AudioCommandsTest.DATA.toString(), "--steps", "1", "--d-model", "8", "--layers", "1", "--batch", max},
                {"lm", "train", "--preset", "tiny", "--data", tokens.toString(), "--data-format", "u8", "--steps", "1", "--seq-len", "64", "--batch", max},
                {"synthetic", "selective-copying", "--train", "64", "--eval", "64", "--steps", "1", "--batch", max},
                {"synthetic", "selective-copying", "--train", "64", "--eval", max, "--steps", "1", "--batch", "2"}};
        for (String[] c : cases) {
            boolean takesOut = !c[0].equals("synthetic");
            String[] args = takesOut ? java.util.stream.Stream.concat(java.util.Arrays.stream(c), java.util.stream.Stream.of("--out", out.toString()))
                    .toArray(String[]::new) : c;
            MainTest.Result r = MainTest.run(args);
            assertEquals(1, r.code(), String.join(" ", c) + ": " + r.err());
            assertTrue(r.err().contains("is too large for this model") && r.err().contains("lower "), r.err());
            assertFalse(Files.exists(out), String.join(" ", c) + " left " + out);
        }
        MainTest.Result r = MainTest.run("model", "generate", "--model", Path.of("..", "test-data", "fixtures", "tiny-mamba").toString(),
                "--prompt-ids", "1", "--max-new", max);
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("--max-new " + max), r.err());
    }
}
