package org.ssmtk.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.io.DnaSequence;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk dna score} in-process on test-data/genomics/small.fa with a briefly pretrained tiny model. */
class DnaScoreCommandTest {
    static final Path SMALL = DnaCommandsTest.DATA.resolve("small.fa");
    @TempDir
    static Path shared;
    static Path model;
    @TempDir
    Path dir;

    @BeforeAll
    static void pretrain() {
        Path run = shared.resolve("pt");
        MainTest.Result r = MainTest.run("dna", "pretrain", "--fasta", SMALL.toString(), "--out", run.toString(), "--preset", "tiny",
                "--seq-len", "32", "--batch", "2", "--steps", "3", "--eval-windows", "2", "--threads", "2", "--checkpoint-every", "0");
        assertEquals(0, r.code(), r.err());
        model = run.resolve("model");
    }

    record Line(String contig, long start, long end, double value) {}

    static List<Line> parse(Path bedGraph) throws Exception {
        List<String> lines = Files.readAllLines(bedGraph);
        assertTrue(lines.getFirst().startsWith("track type=bedGraph name="), lines.getFirst());
        assertTrue(lines.getFirst().contains("log2"), lines.getFirst());
        List<Line> out = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split("\t");
            assertEquals(4, f.length, l);
            out.add(new Line(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]), Double.parseDouble(f[3])));
        }
        return out;
    }

    /** Window means from one full forward over [start, end) of a contig: the reference the streamed scores must equal. */
    static List<Line> fullForward(MambaModel m, DnaSequence s, long start, long end, int window) {
        byte[] enc = DnaVocabulary.encode(s.bases());
        int len = (int) (end - start);
        int[] ids = new int[len];
        for (int i = 0; i < len; i++) ids[i] = enc[(int) start + i];
        float[] logits = m.forward(ids, 1, len);
        int stride = m.config().paddedVocabSize();
        List<Line> out = new ArrayList<>();
        for (int w = 0; w < len; w += window) {
            double sum = 0;
            int n = 0;
            for (int t = Math.max(w, 1); t < Math.min(len, w + window); t++) {
                if (ids[t] < DnaVocabulary.A || ids[t] > DnaVocabulary.T) continue;
                int off = (t - 1) * stride;
                double max = Double.NEGATIVE_INFINITY, z = 0;
                for (int v = 0; v < stride; v++) max = Math.max(max, logits[off + v]);
                for (int v = 0; v < stride; v++) z += Math.exp(logits[off + v] - max);
                sum += (logits[off + ids[t]] - max - Math.log(z)) / Math.log(2);
                n++;
            }
            if (n > 0) out.add(new Line(s.name(), start + w, start + Math.min(len, w + window), sum / n));
        }
        return out;
    }

    static void assertSame(List<Line> expected, List<Line> got) {
        assertEquals(expected.size(), got.size());
        for (int i = 0; i < expected.size(); i++) {
            Line e = expected.get(i), g = got.get(i);
            assertEquals(e.contig() + ":" + e.start() + "-" + e.end(), g.contig() + ":" + g.start() + "-" + g.end());
            // float32 chunks vs one float32 pass differ by ~1e-6 per base; the file keeps 6 decimals
            assertEquals(e.value(), g.value(), 1e-5, e.toString());
        }
    }

    @Test
    void streamedScoresCoverEveryContigAndEqualOneFullForward() throws Exception {
        Path out = dir.resolve("scores.bedGraph");
        MainTest.Result r = MainTest.run("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(), "--output", out.toString(),
                "--window", "50", "--chunk", "37", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("bases/s"), r.err());
        List<Line> lines = parse(out);
        Map<String, List<Line>> byContig = new LinkedHashMap<>();
        for (Line l : lines) byContig.computeIfAbsent(l.contig(), k -> new ArrayList<>()).add(l);
        assertEquals(List.of("chr1", "chr2", "chrM"), List.copyOf(byContig.keySet()), "contigs in FASTA order");
        try (FastaReference ref = FastaReference.open(SMALL); CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, MambaCheckpoint.load(model));
            for (FastaReference.Contig c : ref.contigs()) {
                List<Line> got = byContig.get(c.name());
                // windows tile the contig: contiguous unless a window held only N (then it is left out)
                assertEquals(0, got.getFirst().start());
                assertEquals(c.length(), got.getLast().end());
                for (int i = 1; i < got.size(); i++) {
                    assertTrue(got.get(i).start() >= got.get(i - 1).end());
                    assertEquals(0, got.get(i).start() % 50);
                }
                for (Line l : got) assertTrue(l.value() < 0 && l.value() > -20, l.toString());
                assertSame(fullForward(m, ref.sequence(c.name()), 0, c.length(), 50), got);
            }
        }
    }

    /** Shards' outputs concatenated in shard order, one track line: what the exported pipeline's gather does. */
    static String gather(List<Path> parts) throws Exception {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < parts.size(); i++) {
            List<String> lines = Files.readAllLines(parts.get(i));
            for (String l : i == 0 ? lines : lines.subList(1, lines.size())) b.append(l).append('\n');
        }
        return b.toString();
    }

    /** Scores every shard of {@code size} bases (0 = one per contig) and gathers them. */
    String scatter(int size, String... extra) throws Exception {
        List<Path> parts = new ArrayList<>();
        try (FastaReference ref = FastaReference.open(SMALL)) {
            for (FastaReference.Contig c : ref.contigs()) {
                long step = size == 0 ? c.length() : size;
                for (long s = 0; s < c.length(); s += step) {
                    Path part = dir.resolve("part-" + size + "-" + parts.size() + ".bedGraph");
                    List<String> args = new ArrayList<>(List.of("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(),
                            "--output", part.toString(), "--shard", c.name() + ":" + s + "-" + Math.min(c.length(), s + step), "--threads", "2"));
                    args.addAll(List.of(extra));
                    MainTest.Result r = MainTest.run(args.toArray(String[]::new));
                    assertEquals(0, r.code(), r.err());
                    parts.add(part);
                }
            }
        }
        return gather(parts);
    }

    @Test
    void scatteredShardsGatherToTheUnsplitFileByteForByte() throws Exception {
        String[] opts = {"--window", "50", "--chunk", "256"};
        Path whole = dir.resolve("whole.bedGraph");
        List<String> args = new ArrayList<>(List.of("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(), "--output", whole.toString(), "--threads", "2"));
        args.addAll(List.of(opts));
        assertEquals(0, MainTest.run(args.toArray(String[]::new)).code());
        String expected = Files.readString(whole);
        // by contig; by 1000 bases (on the window grid, off the chunk grid); by 777 (windows straddle shard edges)
        assertEquals(expected, scatter(0, opts));
        assertEquals(expected, scatter(1000, opts));
        assertEquals(expected, scatter(777, opts));

        // BED regions: a shard scores the parts of the intervals it holds, each still fed from the interval's start
        Path bed = Files.writeString(dir.resolve("s.bed"), "chr1\t130\t2900\nchr2\t0\t3000\n");
        Path regions = dir.resolve("regions.bedGraph");
        assertEquals(0, MainTest.run("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(), "--regions", bed.toString(),
                "--output", regions.toString(), "--threads", "2", "--window", "50", "--chunk", "256").code());
        assertEquals(Files.readString(regions), scatter(1000, "--regions", bed.toString(), "--window", "50", "--chunk", "256"));
    }

    @Test
    void aShardStartedColdWouldChangeValues() throws Exception {
        // What the warm-up is for: scoring chr1's second 1000 bases as their own interval (no context
        // before them) gives other numbers than the shard of the genome-wide run does.
        Path warm = dir.resolve("warm.bedGraph"), cold = dir.resolve("cold.bedGraph");
        Path bed = Files.writeString(dir.resolve("cold.bed"), "chr1\t1000\t2000\n");
        assertEquals(0, MainTest.run("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(), "--output", warm.toString(),
                "--shard", "chr1:1000-2000", "--window", "50", "--threads", "2").code());
        assertEquals(0, MainTest.run("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(), "--output", cold.toString(),
                "--regions", bed.toString(), "--window", "50", "--threads", "2").code());
        List<Line> w = parse(warm), c = parse(cold);
        assertEquals(20, w.size());
        assertEquals(w.size(), c.size());
        assertEquals(w.getFirst().start(), c.getFirst().start());
        assertFalse(w.getFirst().value() == c.getFirst().value(), "the first window of a cold start lacks its context");
    }

    @Test
    void regionsRestrictScoringAndStartTheirOwnContext() throws Exception {
        Path bed = Files.writeString(dir.resolve("r.bed"), "chr2\t100\t400\n" + "chr1\t10\t130\n" + "chr1\t100\t200\n");
        Path out = dir.resolve("r.bedGraph");
        MainTest.Result r = MainTest.run("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(), "--regions", bed.toString(),
                "--output", out.toString(), "--window", "1", "--chunk", "64", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<Line> lines = parse(out);
        try (FastaReference ref = FastaReference.open(SMALL); CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, MambaCheckpoint.load(model));
            List<Line> expected = new ArrayList<>(fullForward(m, ref.sequence("chr1"), 10, 200, 1)); // the overlapping two merged
            expected.addAll(fullForward(m, ref.sequence("chr2"), 100, 400, 1));
            assertSame(expected, lines);
        }
        assertEquals(11, lines.getFirst().start(), "the first base of an interval has no context and is not scored");
    }

    @Test
    void errorsAreOneLineAndLeaveNoOutput() throws Exception {
        Path out = dir.resolve("x.bedGraph");
        Path bed = Files.writeString(dir.resolve("bad.bed"), "chr9\t0\t10\n");
        MainTest.Result r = MainTest.run("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(), "--regions", bed.toString(),
                "--output", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("chr9"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Path bare = dir.resolve("bare");
        Files.createDirectories(bare);
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(model.resolve(f), bare.resolve(f));
        r = MainTest.run("dna", "score", "--model", bare.toString(), "--fasta", SMALL.toString(), "--output", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("dna_vocab.json"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        for (String bad : new String[]{"chr9:0-10", "chr1:10-5", "chr1"}) {
            r = MainTest.run("dna", "score", "--model", model.toString(), "--fasta", SMALL.toString(), "--output", out.toString(), "--shard", bad);
            assertEquals(1, r.code(), bad);
            assertTrue(r.err().contains("--shard"), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        assertFalse(Files.exists(out));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains("partial")));
        }
    }
}
