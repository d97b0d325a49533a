package org.ssmtk.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.audio.io.WavReader;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.io.TensorInfo;
import org.ssmtk.genomics.io.BedIntervals;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.io.RecordLabels;
import org.ssmtk.workflows.descriptor.WorkflowException;
import org.ssmtk.workflows.descriptor.WorkflowParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 15: a seeded mutation fuzzer over every parser of user files (safetensors, config.json, FASTA,
 * .fai, BED, labels TSV, WAV, workflow YAML) and, through the command line, over commands that read
 * them and write an output. Jazzer is not in the Maven mirror this project builds from, so this is a
 * plain fuzzer: no coverage feedback, but every run is reproducible from its seed
 * ({@code -Dssmtk.fuzz.seed}), and the time per target is bounded ({@code -Dssmtk.fuzz.ms}, default
 * 5000) so that CI stays fast. A mutated input may be rejected in any way the CLI reports as bad input
 * (exit 1: IOException, UsageException, WorkflowException); anything else
 * (an unchecked exception, an Error, exit 2, an output or temporary file left after a failure) is a
 * crash: the input is written to target/fuzz-crashes/ and the test fails naming it.
 */
class ParserFuzzTest {
    static final Path CORPUS = Path.of("..", "test-data", "fuzz").toAbsolutePath().normalize();
    static final long MS = Long.getLong("ssmtk.fuzz.ms", 5000), SEED = Long.getLong("ssmtk.fuzz.seed", 15);
    @TempDir
    Path dir;

    @FunctionalInterface
    interface Target {
        /** Runs the parser on file; returns normally or throws what counts as a clean rejection. */
        void run(Path file) throws Exception;
    }

    private static boolean clean(Throwable t) {
        // what Main reports as bad input (exit 1); an IllegalArgumentException from a parser is a bug (exit 2)
        return t instanceof IOException || t instanceof UsageException || t instanceof WorkflowException;
    }

    /** Mutates one of the seeds (bit flips, interesting bytes, cuts, inserts, splices, numbers made huge or negative). */
    static byte[] mutate(List<byte[]> seeds, SplittableRandom rnd) {
        byte[] b = seeds.get(rnd.nextInt(seeds.size())).clone();
        int rounds = 1 + rnd.nextInt(4);
        for (int r = 0; r < rounds; r++) {
            if (b.length == 0) b = new byte[]{(byte) rnd.nextInt(256)};
            int at = rnd.nextInt(b.length);
            switch (rnd.nextInt(8)) {
                case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[at] = (byte) new int[]{0, 0xff, 0x7f, 0x80, '\n', '\t', '>', ' ', '-', '9', '{', '"', ':'}[rnd.nextInt(13)];
                case 2 -> b = java.util.Arrays.copyOf(b, at); // cut
                case 3 -> { // delete a range
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(16));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 4 -> { // duplicate a range
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(32));
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, at + len);
                    System.arraycopy(b, at, c, at + len, b.length - at);
                    b = c;
                }
                case 5 -> { // splice the tail of another seed
                    byte[] o = seeds.get(rnd.nextInt(seeds.size()));
                    int from = rnd.nextInt(o.length + 1);
                    byte[] c = java.util.Arrays.copyOf(b, at + o.length - from);
                    System.arraycopy(o, from, c, at, o.length - from);
                    b = c;
                }
                case 6 -> { // a number replaced by an extreme one
                    String s = new String(b, StandardCharsets.ISO_8859_1);
                    String[] extreme = {"0", "-1", "2147483647", "2147483648", "9223372036854775807", "99999999999999999999", "1e308", "NaN", "-0"};
                    b = s.replaceFirst("[0-9]+", extreme[rnd.nextInt(extreme.length)]).getBytes(StandardCharsets.ISO_8859_1);
                }
                default -> { // little-endian integers: a 4- or 8-byte field set to an extreme
                    long[] v = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE, 1L << 32, 1L << 40};
                    java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    long x = v[rnd.nextInt(v.length)];
                    if (at + 8 <= b.length) bb.putLong(at, x);
                    else if (at + 4 <= b.length) bb.putInt(at, (int) x);
                }
            }
        }
        return b;
    }

    /** Runs target on mutations of the seeds in corpus/name for MS milliseconds; returns the executions. */
    private long fuzz(String name, String fileName, Target target) throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        try (var s = Files.list(CORPUS.resolve(name))) {
            for (Path p : s.sorted().toList()) if (!p.getFileName().toString().endsWith(".fai") || name.equals("fai")) seeds.add(Files.readAllBytes(p));
        }
        if (name.equals("fai")) seeds.removeIf(b -> b.length > 0 && b[0] == '>'); // the .fai is fuzzed, the FASTA stays
        SplittableRandom rnd = new SplittableRandom(SEED ^ name.hashCode());
        Path work = Files.createDirectories(dir.resolve(name));
        long runs = 0, rejected = 0, end = System.nanoTime() + MS * 1_000_000;
        // the seeds themselves first: they must parse
        for (byte[] seed : seeds) {
            if (name.equals("fai")) break;
            Path f = Files.write(work.resolve(fileName), seed);
            try {
                target.run(f);
            } catch (Rejected r) {
                // a command may refuse a valid file for its own reasons (model forward wants input_ids)
            } catch (Throwable t) {
                fail(name + ": a seed of the corpus is rejected: " + t);
            }
        }
        while (System.nanoTime() < end) {
            byte[] input = mutate(seeds, rnd);
            Path f = Files.write(work.resolve(fileName), input);
            runs++;
            try {
                target.run(f);
            } catch (Rejected r) {
                rejected++;
            } catch (Throwable t) {
                if (clean(t) && t.getMessage() != null && !t.getMessage().isBlank()) {
                    rejected++;
                    continue;
                }
                Path crashes = Files.createDirectories(Path.of("target", "fuzz-crashes"));
                Path saved = Files.write(crashes.resolve(name + "-" + runs + "-" + fileName), input);
                StringBuilder trace = new StringBuilder(t.toString());
                for (StackTraceElement e : t.getStackTrace()) trace.append("\n    at ").append(e);
                fail(name + ": run " + runs + " (seed " + SEED + ") crashed the parser; input saved to " + saved.toAbsolutePath() + ": " + trace);
            }
        }
        System.out.printf("fuzz %-12s %,8d executions (%,d rejected cleanly) in %d ms%n", name, runs, rejected, MS);
        assertTrue(runs > 0);
        return runs;
    }

    @Test
    void safetensors() throws Exception {
        fuzz("safetensors", "x.safetensors", f -> {
            try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
                for (TensorInfo t : r.tensors().values()) if (t.dtype().isFloatingPoint()) r.floats(t.name());
                r.metadata();
            }
        });
    }

    @Test
    void config() throws Exception {
        fuzz("config", "config.json", MambaConfig::read);
    }

    @Test
    void fasta() throws Exception {
        fuzz("fasta", "x.fa", f -> {
            try (FastaReference r = FastaReference.open(f)) {
                r.readAll();
            }
        });
    }

    @Test
    void fastaIndex() throws Exception {
        Path fa = dir.resolve("fai").resolve("two.fa");
        fuzz("fai", "two.fa.fai", f -> {
            if (!Files.exists(fa)) Files.copy(CORPUS.resolve("fai/two.fa"), fa);
            try (FastaReference r = FastaReference.open(fa)) {
                for (FastaReference.Contig c : r.contigs()) r.sequence(c.name());
            }
        });
    }

    @Test
    void bed() throws Exception {
        Map<String, Long> lengths = Map.of("chr1", 24L, "chr2", 16L);
        fuzz("bed", "x.bed", f -> {
            BedIntervals.read(f, lengths, Path.of("ref.fa"));
            BedIntervals.readLabeled(f, lengths, Path.of("ref.fa"), 4);
        });
    }

    @Test
    void labels() throws Exception {
        fuzz("labels", "labels.tsv", RecordLabels::read);
    }

    @Test
    void wav() throws Exception {
        fuzz("wav", "x.wav", WavReader::read);
    }

    @Test
    void workflowYaml() throws Exception {
        WorkflowOps ops = new WorkflowOps();
        fuzz("yaml", "w.yaml", f -> WorkflowParser.parse(f, ops));
    }

    /**
     * Through the command line: exit 0 or 1 only, one line on stderr when 1, and after a failure no
     * output and no temporary file in the output's folder.
     */
    @Test
    void commandsExitZeroOrOneAndLeaveNothingBehind() throws Exception {
        Path model = Path.of("..", "test-data", "fixtures", "tiny-mamba").toAbsolutePath().normalize();
        Path outDir = Files.createDirectories(dir.resolve("cli-out"));
        fuzz("safetensors", "input.safetensors", f -> {
            Path out = outDir.resolve("logits.safetensors");
            MainTest.Result r = MainTest.run("model", "forward", "--model", model.toString(), "--input", f.toString(), "--output", out.toString(),
                    "--threads", "1");
            Files.deleteIfExists(out.resolveSibling("kept"));
            if (Files.exists(out)) Files.move(out, out.resolveSibling("kept")); // a success's output is not a leftover
            check(r, outDir);
        });
        fuzz("yaml", "w.yaml", f -> check(MainTest.run("workflow", "validate", f.toString()), outDir));
    }

    /** A command's exit 1 with everything in order: counted as a clean rejection. */
    static final class Rejected extends Exception {
        Rejected() {
            super(null, null, false, false);
        }
    }

    private static void check(MainTest.Result r, Path outDir) throws IOException, Rejected {
        if (r.code() != 0 && r.code() != 1) throw new AssertionError("exit " + r.code() + ": " + r.err());
        if (r.code() == 1) {
            if (r.err().strip().lines().count() != 1) throw new AssertionError("not one line: " + r.err());
            try (var s = Files.list(outDir)) {
                List<Path> left = s.toList();
                if (!left.isEmpty()) throw new AssertionError("left behind after a failure: " + left);
            }
            throw new Rejected();
        }
    }
}
