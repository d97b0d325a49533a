package org.ssmtk.cli;

import htsjdk.samtools.SAMFileHeader;
import htsjdk.samtools.SAMFileWriter;
import htsjdk.samtools.SAMFileWriterFactory;
import htsjdk.samtools.SAMRecord;
import htsjdk.samtools.SAMSequenceRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.genomics.io.LiteralHeader;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 18: {@code dna classify-reads --shard} over an indexed, coordinate-sorted BAM. Shards of every
 * contig (whole, and in pieces that records straddle) plus '*' (the unplaced unmapped reads), gathered
 * in that order, give the unsplit run's TSV byte for byte and its BAM record for record under the same
 * header text.
 */
class ClassifyReadsShardTest {
    @TempDir
    Path dir;

    /** classify-reads' test reads on two contigs, sorted and indexed; some unmapped reads placed at a position, some unplaced. */
    private Path sortedBam() throws Exception {
        List<SAMRecord> reads = DnaClassifyReadsCommandTest.read(DnaClassifyReadsCommandTest.writeBam(dir.resolve("plain.bam")));
        SAMFileHeader header = new SAMFileHeader();
        header.addSequence(new SAMSequenceRecord("chrA", 100_000));
        header.addSequence(new SAMSequenceRecord("chrB", 50_000));
        header.setSortOrder(SAMFileHeader.SortOrder.coordinate);
        Random rnd = new Random(9);
        Path bam = dir.resolve("sorted.bam");
        try (SAMFileWriter w = new SAMFileWriterFactory().setCreateIndex(true).makeBAMWriter(header, false, bam)) {
            int i = 0;
            for (SAMRecord r : reads) {
                r.setHeader(header);
                if (r.getReadUnmappedFlag()) {
                    if (i++ % 2 == 0) { // placed at its (pretend) mate's position, as aligners do
                        r.setReferenceName("chrB");
                        r.setAlignmentStart(1 + rnd.nextInt(40_000));
                    }
                } else if (rnd.nextInt(3) == 0) {
                    r.setReferenceName("chrB");
                    r.setAlignmentStart(1 + rnd.nextInt(40_000));
                }
                w.addAlignment(r);
            }
        }
        assertTrue(Files.exists(dir.resolve("sorted.bai")), "no index written");
        return bam;
    }

    @Test
    void gatheredShardsEqualTheUnsplitTsvAndBam() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        Path bam = sortedBam(), tsv = dir.resolve("whole.tsv"), tagged = dir.resolve("whole.bam");
        r = MainTest.run(args(model, bam, tsv, tagged, null));
        assertEquals(0, r.code(), r.err());
        List<String> wantRecords = DnaClassifyReadsCommandTest.read(tagged).stream().map(SAMRecord::getSAMString).toList();
        String wantHeader = LiteralHeader.read(tagged);
        for (long piece : new long[]{0, 20_000}) {
            List<String> shards = new ArrayList<>();
            for (String[] c : new String[][]{{"chrA", "100000"}, {"chrB", "50000"}}) {
                long len = Long.parseLong(c[1]), step = piece == 0 ? len : piece;
                for (long s = 0; s < len; s += step) shards.add(c[0] + ":" + s + "-" + Math.min(len, s + step));
            }
            shards.add("*");
            ByteArrayOutputStream rows = new ByteArrayOutputStream();
            List<String> records = new ArrayList<>();
            for (int i = 0; i < shards.size(); i++) {
                Path partTsv = dir.resolve("p" + i + ".tsv"), partBam = dir.resolve("p" + i + ".bam");
                r = MainTest.run(args(model, bam, partTsv, partBam, shards.get(i)));
                assertEquals(0, r.code(), shards.get(i) + ": " + r.err());
                List<String> lines = Files.readAllLines(partTsv);
                for (String l : i == 0 ? lines : lines.subList(1, lines.size())) rows.write((l + "\n").getBytes(StandardCharsets.UTF_8));
                // the same header as the unsplit run's: @PG's command line leaves --shard out (the output names differ
                // here only because this test gives each part its own; a scattered pipeline's tasks all use one)
                assertEquals(wantHeader, LiteralHeader.read(partBam).replace(partTsv.toString(), tsv.toString()).replace(partBam.toString(), tagged.toString()),
                        shards.get(i) + ": the header differs from the unsplit run's");
                DnaClassifyReadsCommandTest.read(partBam).forEach(rec -> records.add(rec.getSAMString()));
            }
            assertArrayEquals(Files.readAllBytes(tsv), rows.toByteArray(), "TSV, pieces of " + piece);
            assertEquals(wantRecords, records, "BAM records, pieces of " + piece);
        }
        // a shard reads through the index, over a sorted input
        r = MainTest.run(args(model, DnaClassifyReadsCommandTest.writeBam(dir.resolve("unsorted.bam")), dir.resolve("u.tsv"), null, "chrA:0-10"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("has no index"), r.err());
        r = MainTest.run(args(model, bam, dir.resolve("z.tsv"), null, "chrZ:0-10"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("has no @SQ 'chrZ'"), r.err());
    }

    /**
     * The pipeline's way: ssmtk scatter plan lists the shards, every shard runs with the unsplit run's
     * command line plus --shard (so writes the same output names), and ssmtk gather joins the parts: the
     * TSV equals the unsplit run's byte for byte, the BAM record for record under the same header text
     * (one ssmtk @PG line, the unsplit run's), and byte for byte too, as both go through one writer.
     */
    @Test
    void plannedShardsJoinedByGatherAreTheUnsplitRunsFiles() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        Path bam = sortedBam(), out = Files.createDirectories(dir.resolve("out")), tsv = out.resolve("calls.tsv"), tagged = out.resolve("tagged.bam");
        r = MainTest.run(args(model, bam, tsv, tagged, null));
        assertEquals(0, r.code(), r.err());
        Path singleTsv = Files.move(tsv, dir.resolve("single.tsv")), singleBam = Files.move(tagged, dir.resolve("single.bam"));

        Path plan = dir.resolve("shards.txt");
        r = MainTest.run("scatter", "plan", "--reads", bam.toString(), "--by", "30000", "--output", plan.toString());
        assertEquals(0, r.code(), r.err());
        List<String> shards = Files.readAllLines(plan);
        assertEquals(List.of("chrA:0-30000", "chrA:30000-60000", "chrA:60000-90000", "chrA:90000-100000", "chrB:0-30000", "chrB:30000-50000", "*"), shards);
        List<String> gatherTsv = new ArrayList<>(List.of("gather", "tsv", "--output", dir.resolve("gathered.tsv").toString()));
        List<String> gatherBam = new ArrayList<>(List.of("gather", "bam", "--output", dir.resolve("gathered.bam").toString()));
        for (int i = 0; i < shards.size(); i++) {
            r = MainTest.run(args(model, bam, tsv, tagged, shards.get(i)));
            assertEquals(0, r.code(), shards.get(i) + ": " + r.err());
            gatherTsv.addAll(List.of("--part", Files.move(tsv, dir.resolve("part" + i + ".tsv")).toString()));
            gatherBam.addAll(List.of("--part", Files.move(tagged, dir.resolve("part" + i + ".bam")).toString()));
        }
        r = MainTest.run(gatherTsv.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        r = MainTest.run(gatherBam.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Files.readAllBytes(singleTsv), Files.readAllBytes(dir.resolve("gathered.tsv")), "gathered TSV");
        String header = LiteralHeader.read(dir.resolve("gathered.bam"));
        assertEquals(LiteralHeader.read(singleBam), header);
        assertEquals(1, header.lines().filter(l -> l.startsWith("@PG") && l.contains("\tPN:ssmtk")).count(), header);
        assertEquals(DnaClassifyReadsCommandTest.read(singleBam).stream().map(SAMRecord::getSAMString).toList(),
                DnaClassifyReadsCommandTest.read(dir.resolve("gathered.bam")).stream().map(SAMRecord::getSAMString).toList());
        assertArrayEquals(Files.readAllBytes(singleBam), Files.readAllBytes(dir.resolve("gathered.bam")), "gathered BAM bytes");
        DnaClassifyReadsCommandTest.keepForRealClients(Files.copy(dir.resolve("gathered.bam"), dir.resolve("gathered-shards.bam")));

        // a part of another run (another header) is refused, and nothing is written
        Path other = dir.resolve("other.bam");
        r = MainTest.run(args(model, bam, dir.resolve("o.tsv"), other, "*"));
        assertEquals(0, r.code(), r.err());
        r = MainTest.run("gather", "bam", "--output", dir.resolve("mixed.bam").toString(), "--part", dir.resolve("part0.bam").toString(),
                "--part", other.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--part " + other + ": its header differs from --part " + dir.resolve("part0.bam") + "'s"), r.err());
        assertTrue(!Files.exists(dir.resolve("mixed.bam")));
        // parts given out of their planned order break the header's coordinate order: one line, exit 1, nothing written
        Path swapped = dir.resolve("swapped.bam");
        r = MainTest.run("gather", "bam", "--output", swapped.toString(), "--part", dir.resolve("part1.bam").toString(),
                "--part", dir.resolve("part0.bam").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("--part " + dir.resolve("part0.bam") + ": read ") && r.err().contains("give the parts in the order"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        try (var listing = Files.list(dir)) {
            assertTrue(listing.noneMatch(f -> f.getFileName().toString().startsWith("swapped")), "no output or temporary file is left");
        }
        // planning needs what the shards need: a sorted, indexed input
        r = MainTest.run("scatter", "plan", "--reads", DnaClassifyReadsCommandTest.writeBam(dir.resolve("unsorted.bam")).toString(), "--by", "contigs");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("is not coordinate-sorted") || r.err().contains("has no index"), r.err());
    }

    private static String[] args(String model, Path bam, Path tsv, Path bamOut, String shard) {
        List<String> a = new ArrayList<>(List.of("dna", "classify-reads", "--model", model, "--input", bam.toString(), "--output", tsv.toString(),
                "--include-unmapped", "--threads", "2", "--batch", "8"));
        if (bamOut != null) a.addAll(List.of("--bam-out", bamOut.toString()));
        if (shard != null) a.addAll(List.of("--shard", shard));
        return a.toArray(String[]::new);
    }
}
