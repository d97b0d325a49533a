package org.ssmtk.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.genomics.io.FastaReference;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 18: {@code dna classify --shard} as the exported pipeline's scatter runs it. Shards planned as
 * main.nf plans them (per contig, or N-base pieces from the .fai) and gathered as its gather module
 * does (the first shard's file whole, then the others without their header line) give the unsplit
 * TSV byte for byte, with and without --rc-average, whatever the piece size against the windows.
 */
class ClassifyShardTest {
    @TempDir
    Path dir;

    @Test
    void gatheredShardsEqualTheUnsplitTsvByteForByte() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "3"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        Path fasta = DnaCommandsTest.DATA.resolve("class-b.fa");
        List<FastaReference.Contig> contigs;
        try (FastaReference ref = FastaReference.open(fasta)) {
            contigs = ref.readAll().stream().map(s -> new FastaReference.Contig(s.name(), s.length())).toList();
        }
        for (String rc : new String[]{"", "--rc-average"}) {
            Path whole = dir.resolve("whole" + rc + ".tsv");
            r = MainTest.run(args(model, fasta, whole, rc, null));
            assertEquals(0, r.code(), r.err());
            byte[] want = Files.readAllBytes(whole);
            assertTrue(new String(want, StandardCharsets.UTF_8).lines().count() > 40, "too few windows to split");
            // per contig; pieces that cut windows (64 bases) in two: a window belongs to the shard it starts in
            for (long piece : rc.isEmpty() ? new long[]{0, 777} : new long[]{777}) {
                List<String> shards = new ArrayList<>();
                for (FastaReference.Contig c : contigs) {
                    long step = piece == 0 ? c.length() : piece;
                    for (long s = 0; s < c.length(); s += step) shards.add(c.name() + ":" + s + "-" + Math.min(c.length(), s + step));
                }
                ByteArrayOutputStream gathered = new ByteArrayOutputStream();
                for (int i = 0; i < shards.size(); i++) {
                    Path part = dir.resolve("part" + i + ".tsv");
                    r = MainTest.run(args(model, fasta, part, rc, shards.get(i)));
                    assertEquals(0, r.code(), shards.get(i) + ": " + r.err());
                    List<String> lines = Files.readAllLines(part);
                    if (i > 0) lines = lines.subList(1, lines.size());
                    for (String l : lines) gathered.write((l + "\n").getBytes(StandardCharsets.UTF_8));
                }
                assertArrayEquals(want, gathered.toByteArray(), "piece " + piece + " " + rc + " (" + shards.size() + " shards)");
            }
        }
        // the shard's contig must be the FASTA's (when its .fai says which there are); --metrics needs every row
        r = MainTest.run(args(model, DnaCommandsTest.DATA.resolve("small.fa"), dir.resolve("x.tsv"), "", "chrZ:0-10"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("has no contig 'chrZ'"), r.err());
        r = MainTest.run("dna", "classify", "--model", model, "--fasta", fasta.toString(), "--labels", writeLabels().toString(),
                "--output", dir.resolve("y.tsv").toString(), "--metrics", dir.resolve("m.json").toString(), "--shard", contigs.get(0).name() + ":0-10");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--metrics scores every row"), r.err());
    }

    private Path writeLabels() throws Exception {
        StringBuilder b = new StringBuilder();
        try (FastaReference ref = FastaReference.open(DnaCommandsTest.DATA.resolve("class-b.fa"))) {
            for (var s : ref.readAll()) b.append(s.name()).append("\tGC\n");
        }
        return Files.writeString(dir.resolve("labels.tsv"), b);
    }

    private static String[] args(String model, Path fasta, Path out, String rc, String shard) {
        List<String> a = new ArrayList<>(List.of("dna", "classify", "--model", model, "--fasta", fasta.toString(), "--output", out.toString(),
                "--seq-len", "64", "--batch", "8", "--threads", "2"));
        if (!rc.isEmpty()) a.add(rc);
        if (shard != null) a.addAll(List.of("--shard", shard));
        return a.toArray(String[]::new);
    }
}
