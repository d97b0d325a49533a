package org.ssmtk.cli;

import htsjdk.samtools.SAMFileHeader;
import htsjdk.samtools.SAMFileWriter;
import htsjdk.samtools.SAMFileWriterFactory;
import htsjdk.samtools.SAMRecord;
import htsjdk.samtools.SAMSequenceRecord;
import htsjdk.samtools.SamReader;
import htsjdk.samtools.SamReaderFactory;
import htsjdk.samtools.ValidationStringency;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.genomics.io.DnaSequence;
import org.ssmtk.genomics.io.FastaReference;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ssmtk dna classify-reads} on a BAM written here with HTSJDK from reads of
 * test-data/genomics/class-a.fa (AT-rich) and class-b.fa (GC-rich), on both strands, plus unmapped,
 * secondary and low-MAPQ records.
 */
class DnaClassifyReadsCommandTest {
    static final Path DATA = DnaCommandsTest.DATA;
    static final int PER_CLASS = 20;
    @TempDir
    Path dir;

    /** Records: PER_CLASS reads per class (MAPQ 60, alternating strands, 40..150 bases), then 2 unmapped, 2 secondary, 2 MAPQ-3. */
    static Path writeBam(Path bam) throws Exception {
        SAMFileHeader header = new SAMFileHeader();
        header.addSequence(new SAMSequenceRecord("chrA", 100_000));
        header.setSortOrder(SAMFileHeader.SortOrder.unsorted);
        Random rnd = new Random(7);
        List<SAMRecord> records = new ArrayList<>();
        String[] files = {"class-a.fa", "class-b.fa"}, prefixes = {"AT_", "GC_"};
        for (int c = 0; c < 2; c++) {
            List<DnaSequence> contigs;
            try (FastaReference ref = FastaReference.open(DATA.resolve(files[c]))) {
                contigs = ref.readAll();
            }
            for (int i = 0; i < PER_CLASS + 6; i++) {
                DnaSequence s = contigs.get(i % contigs.size());
                int len = 40 + rnd.nextInt(111), from = rnd.nextInt(s.length() - len);
                byte[] b = Arrays.copyOfRange(s.bases(), from, from + len);
                SAMRecord r = new SAMRecord(header);
                r.setReadName(prefixes[c] + i);
                r.setReadBases(b);
                r.setBaseQualities(qualities(len, rnd));
                r.setAttribute("RG", null);
                r.setAttribute("NM", i % 3);
                if (i < PER_CLASS + 2) {
                    r.setReferenceName("chrA");
                    r.setAlignmentStart(1 + rnd.nextInt(90_000));
                    r.setCigarString(len + "M");
                    r.setReadNegativeStrandFlag(i % 2 == 1);
                    r.setMappingQuality(i < PER_CLASS ? 60 : 3);
                } else if (i < PER_CLASS + 4) {
                    r.setReadUnmappedFlag(true);
                    r.setMappingQuality(0);
                } else {
                    r.setReferenceName("chrA");
                    r.setAlignmentStart(1 + rnd.nextInt(90_000));
                    r.setCigarString(len + "M");
                    r.setSecondaryAlignment(true);
                    r.setMappingQuality(60);
                }
                records.add(r);
            }
        }
        try (SAMFileWriter w = new SAMFileWriterFactory().makeBAMWriter(header, true, bam)) {
            // interleave the classes so order preservation is visible
            for (int i = 0; i < PER_CLASS + 6; i++) {
                w.addAlignment(records.get(i));
                w.addAlignment(records.get(PER_CLASS + 6 + i));
            }
        }
        return bam;
    }

    private static byte[] qualities(int len, Random rnd) {
        byte[] q = new byte[len];
        for (int i = 0; i < len; i++) q[i] = (byte) (20 + rnd.nextInt(20));
        return q;
    }

    /** Copies what classify-reads wrote to cli/target/written-alignments/, for scripts/real-clients-check.sh (samtools, Picard in CI). */
    static void keepForRealClients(Path... files) throws java.io.IOException {
        Path keep = Files.createDirectories(Path.of("target", "written-alignments"));
        for (Path p : files) Files.copy(p, keep.resolve(p.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static List<SAMRecord> read(Path bam) throws Exception {
        try (SamReader r = SamReaderFactory.makeDefault().validationStringency(ValidationStringency.STRICT).open(bam)) {
            List<SAMRecord> all = new ArrayList<>();
            r.forEach(all::add);
            return all;
        }
    }

    @Test
    void classifiesFilteredReadsAndTagsACopyOfTheBamInOrder() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "30", "--rc-augment"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        Path bam = writeBam(dir.resolve("reads.bam")), tsv = dir.resolve("calls.tsv"), tagged = dir.resolve("tagged.bam");

        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", bam.toString(), "--output", tsv.toString(), "--bam-out",
                tagged.toString(), "--min-mapq", "10", "--primary-only", "--threads", "2", "--batch", "8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("reads/s"), r.out());
        List<String> lines = Files.readAllLines(tsv);
        assertEquals("read_name\tflag\tlabel\tp_AT\tp_GC", lines.get(0));
        List<String> rows = lines.subList(1, lines.size());
        assertEquals(2 * PER_CLASS, rows.size(), String.join("\n", rows));
        int correct = 0;
        for (String row : rows) {
            String[] f = row.split("\t");
            double p = Double.parseDouble(f[3]), q = Double.parseDouble(f[4]);
            assertEquals(1, p + q, 1e-5, row);
            assertEquals(p >= q ? "AT" : "GC", f[2], row);
            int i = Integer.parseInt(f[0].substring(3));
            assertTrue(i < PER_CLASS, "filtered read classified: " + row);
            if (f[0].startsWith(f[2] + "_")) correct++;
        }
        // Chance is 0.5; the classes differ in GC content (35% vs 65%), which 30 steps learn.
        assertTrue(correct >= 0.8 * rows.size(), correct + " of " + rows.size() + " correct:\n" + String.join("\n", rows));
        // both strands are present among the classified reads
        assertTrue(rows.stream().anyMatch(x -> (Integer.parseInt(x.split("\t")[1]) & 16) != 0));

        keepForRealClients(tagged);
        List<SAMRecord> in = read(bam), outRecs = read(tagged);
        assertEquals(in.size(), outRecs.size());
        java.util.Map<String, String> labelOf = new java.util.HashMap<>();
        java.util.Map<String, Double> bestOf = new java.util.HashMap<>();
        for (String row : rows) {
            String[] f = row.split("\t");
            labelOf.put(f[0] + "/" + f[1], f[2]);
            bestOf.put(f[0] + "/" + f[1], Math.max(Double.parseDouble(f[3]), Double.parseDouble(f[4])));
        }
        for (int i = 0; i < in.size(); i++) {
            SAMRecord a = in.get(i), b = outRecs.get(i);
            String key = a.getReadName() + "/" + a.getFlags();
            Object label = b.getAttribute("XL");
            if (labelOf.containsKey(key)) {
                assertEquals(labelOf.get(key), label, key);
                float xp = (Float) b.getAttribute("XP");
                // XP is the probability of the label the row gives (the TSV prints 6 significant digits)
                assertEquals(bestOf.get(key), xp, 1e-5, key + " XP " + xp);
            } else {
                assertNull(label, key);
                assertNull(b.getAttribute("XP"), key);
            }
            b.setAttribute("XL", null);
            b.setAttribute("XP", null);
            assertEquals(a.getSAMString(), b.getSAMString(), "record " + i);
            assertArrayEquals(a.getBaseQualities(), b.getBaseQualities());
        }
        assertEquals(read(bam).size(), (PER_CLASS + 6) * 2);

        // without filters (but unmapped included) every record is classified
        Path all = dir.resolve("all.tsv");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", bam.toString(), "--output", all.toString(), "--include-unmapped",
                "--rc-average", "--seq-len", "32", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals(in.size(), Files.readAllLines(all).size() - 1);
        // default: unmapped skipped, secondary and low MAPQ kept
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", bam.toString(), "--output", all.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals(in.size() - 4, Files.readAllLines(all).size() - 1);

        // errors: one line, exit 1, no outputs, no temporaries
        Path bad = dir.resolve("bad");
        Files.createDirectories(bad);
        byte[] whole = Files.readAllBytes(bam);
        Path truncated = Files.write(dir.resolve("truncated.bam"), Arrays.copyOf(whole, whole.length / 2));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", truncated.toString(), "--output", bad.resolve("x.tsv").toString(),
                "--bam-out", bad.resolve("x.bam").toString(), "--threads", "2");
        assertEquals(1, r.code(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        try (var s = Files.list(bad)) {
            assertEquals(List.of(), s.toList());
        }
        Path cram = Files.write(dir.resolve("fake.cram"), "CRAM\3\0".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", cram.toString(), "--output", bad.resolve("x.tsv").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--reference"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        try (var s = Files.list(bad)) {
            assertEquals(List.of(), s.toList());
        }
        // an empty file is no SAM/BAM/CRAM; a header-only SAM is valid, no rows, and says so
        Path empty = Files.createFile(dir.resolve("empty.bam"));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", empty.toString(), "--output", bad.resolve("x.tsv").toString());
        assertEquals(1, r.code());
        assertEquals("ssmtk dna classify-reads: --input " + empty + ": empty file (not SAM, BAM or CRAM)", r.err().strip());
        Path headerOnly = Files.writeString(dir.resolve("header.sam"), "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chrA\tLN:100000\n");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", headerOnly.toString(), "--output", dir.resolve("h.tsv").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("holds no records"), r.err());
        assertEquals(1, Files.readAllLines(dir.resolve("h.tsv")).size());
        // a model without a classification head
        Path lm = dir.resolve("lm");
        Files.createDirectories(lm);
        Files.copy(run.resolve("model").resolve("config.json"), lm.resolve("config.json"));
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        var cfg = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(lm.resolve("config.json").toFile());
        cfg.remove("ssmtk_classifier");
        json.writeValue(lm.resolve("config.json").toFile(), cfg);
        r = MainTest.run("dna", "classify-reads", "--model", lm.toString(), "--input", bam.toString(), "--output", bad.resolve("x.tsv").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("no classification head"), r.err());
        assertFalse(Files.exists(bad.resolve("x.tsv")));
    }

    @Test
    void regionsReadOnlyOverlappingRecordsThroughTheIndexAndNeedOne() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        // The test BAM, coordinate-sorted and indexed by HTSJDK.
        List<SAMRecord> records = read(writeBam(dir.resolve("unsorted.bam")));
        SAMFileHeader header = records.get(0).getHeader().clone();
        header.setSortOrder(SAMFileHeader.SortOrder.coordinate);
        Path sorted = dir.resolve("sorted.bam");
        try (SAMFileWriter w = new SAMFileWriterFactory().setCreateIndex(true).makeBAMWriter(header, false, sorted)) {
            for (SAMRecord rec : records) w.addAlignment(rec);
        }
        Path bai = dir.resolve("sorted.bai");
        assertTrue(Files.exists(bai), "HTSJDK wrote the index");
        Path bed = Files.writeString(dir.resolve("r.bed"), "chrA\t10000\t40000\nchrA\t30000\t50000\n");
        long expected = records.stream().filter(x -> !x.getReadUnmappedFlag() && x.getAlignmentEnd() > 10000 && x.getAlignmentStart() <= 50000).count();
        assertTrue(expected > 3 && expected < records.size() - 4, "the region holds some but not all mapped reads: " + expected);
        Path tsv = dir.resolve("regions.tsv"), tagged = dir.resolve("regions.bam");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", sorted.toString(), "--regions", bed.toString(), "--output", tsv.toString(),
                "--bam-out", tagged.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals(expected, Files.readAllLines(tsv).size() - 1, "each overlapping read once (the intervals overlap)");
        assertEquals(expected, read(tagged).size());
        keepForRealClients(tagged);

        Path chrZ = Files.writeString(dir.resolve("z.bed"), "chrZ\t0\t100\n");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", sorted.toString(), "--regions", chrZ.toString(), "--output", tsv.toString());
        assertEquals(1, r.code());
        assertEquals(chrZ + ": line 1: contig 'chrZ' is not in " + sorted, r.err().strip().replace("ssmtk dna classify-reads: ", ""));

        Files.delete(bai);
        Files.delete(tsv);
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", sorted.toString(), "--regions", bed.toString(), "--output", tsv.toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("has no index") && r.err().contains("samtools index"), r.err());
        assertFalse(Files.exists(tsv));
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".partial")), "no temporaries left");
        }
    }

    @Test
    void fastqReadsGetTheSameCallsAsTheSameReadsInABam() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "10"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        Path bam = writeBam(dir.resolve("reads.bam"));
        // every record as FASTQ (gzipped), with a comment after the name that SAM would not carry
        Path fq = dir.resolve("reads.fq.gz");
        try (var w = new java.io.PrintWriter(new java.util.zip.GZIPOutputStream(Files.newOutputStream(fq)), false, java.nio.charset.StandardCharsets.US_ASCII)) {
            for (SAMRecord rec : read(bam))
                w.print("@" + rec.getReadName() + " comment\n" + rec.getReadString() + "\n+\n" + rec.getBaseQualityString() + "\n");
        }
        Path fromBam = dir.resolve("bam.tsv"), fromFq = dir.resolve("fq.tsv");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", bam.toString(), "--output", fromBam.toString(), "--include-unmapped", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", fq.toString(), "--output", fromFq.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("FASTQ reads classified"), r.out());
        List<String> a = Files.readAllLines(fromBam), b = Files.readAllLines(fromFq);
        assertEquals(a.size(), b.size());
        assertEquals(a.get(0), b.get(0));
        for (int i = 1; i < a.size(); i++) {
            String[] x = a.get(i).split("\t"), y = b.get(i).split("\t");
            assertEquals(x[0], y[0], "read names, comment cut");
            assertEquals("4", y[1], "a FASTQ read is unaligned");
            assertEquals(String.join("\t", Arrays.copyOfRange(x, 2, x.length)), String.join("\t", Arrays.copyOfRange(y, 2, y.length)), x[0]);
        }
        // errors: one line, exit 1, no output
        Path bad = Files.createDirectories(dir.resolve("bad"));
        Path broken = Files.writeString(dir.resolve("broken.fastq"), "@r1\nACGT\n+\nIII\n");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", broken.toString(), "--output", bad.resolve("x.tsv").toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(broken.toString()), r.err());
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", fq.toString(), "--output", bad.resolve("x.tsv").toString(),
                "--bam-out", bad.resolve("x.bam").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--bam-out applies to SAM/BAM/CRAM input"), r.err());
        Path empty = Files.createFile(dir.resolve("empty.fq"));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", empty.toString(), "--output", bad.resolve("x.tsv").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("empty file (no FASTQ records)"), r.err());
        try (var s = Files.list(bad)) {
            assertEquals(List.of(), s.toList());
        }
    }

    /** Issue 15: broken BAMs and stale indexes were read as valid (no records, exit 0). */
    @Test
    void brokenBamsAndStaleIndexesAreErrorsNotEmptyResults() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        Path bam = writeBam(dir.resolve("reads.bam")), out = dir.resolve("out");
        Files.createDirectories(out);
        byte[] whole = Files.readAllBytes(bam);
        // BGZF: BSIZE (block size - 1) at bytes 16..17 of each block. Cut in the middle of the first
        // block that holds records (the one after the header's, or the only one before the EOF block).
        List<Integer> starts = new ArrayList<>();
        for (int at = 0; at < whole.length - 28; at += ((whole[at + 16] & 0xff) | (whole[at + 17] & 0xff) << 8) + 1) starts.add(at);
        int block = starts.size() > 1 ? 1 : 0, blockEnd = block + 1 < starts.size() ? starts.get(block + 1) : whole.length - 28;
        Path cutInFirstDataBlock = Files.write(dir.resolve("cut.bam"), Arrays.copyOf(whole, (starts.get(block) + blockEnd) / 2));
        Path cutInFirstBlock = Files.write(dir.resolve("cut0.bam"), Arrays.copyOf(whole, (starts.size() > 1 ? starts.get(1) : whole.length - 28) / 2));
        Path noEof = Files.write(dir.resolve("noeof.bam"), Arrays.copyOf(whole, whole.length - 28));
        // cut where the records begin: what remains is a valid header, which reads as "no records"
        Path headerOnly = Files.write(dir.resolve("headeronly.bam"), Arrays.copyOf(whole, starts.size() > 1 ? starts.get(1) : 0));
        for (Path broken : starts.size() > 1 ? List.of(headerOnly, cutInFirstBlock, cutInFirstDataBlock, noEof) : List.of(cutInFirstBlock, cutInFirstDataBlock, noEof)) {
            r = MainTest.run("dna", "classify-reads", "--model", model, "--input", broken.toString(), "--output", out.resolve("x.tsv").toString(),
                    "--bam-out", out.resolve("x.bam").toString());
            assertEquals(1, r.code(), broken + ": " + r.out() + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(broken + ": "), r.err());
            try (var s = Files.list(out)) {
                assertEquals(List.of(), s.toList());
            }
        }
        assertTrue(r.err().contains("no BGZF end-of-file block"), r.err());

        // a stale index: the BAM was rewritten (other records) after it was indexed
        List<SAMRecord> records = read(bam);
        SAMFileHeader header = records.get(0).getHeader().clone();
        header.setSortOrder(SAMFileHeader.SortOrder.coordinate);
        Path sorted = dir.resolve("sorted.bam");
        try (SAMFileWriter w = new SAMFileWriterFactory().setCreateIndex(true).makeBAMWriter(header, false, sorted)) {
            for (SAMRecord rec : records) w.addAlignment(rec);
        }
        Path bai = dir.resolve("sorted.bai");
        Path fresh = Files.copy(sorted, dir.resolve("fresh.bam"));
        Path bed = Files.writeString(dir.resolve("r.bed"), "chrA\t10000\t40000\n");
        try (SAMFileWriter w = new SAMFileWriterFactory().makeBAMWriter(header, false, sorted)) {
            for (SAMRecord rec : records.subList(records.size() / 2, records.size())) w.addAlignment(rec);
        }
        Files.setLastModifiedTime(bai, java.nio.file.attribute.FileTime.fromMillis(Files.getLastModifiedTime(sorted).toMillis() - 60_000));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", sorted.toString(), "--regions", bed.toString(),
                "--output", out.resolve("x.tsv").toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("its index " + bai + " is older than the file"), r.err());
        // the same stale index with a newer time (copied, touched): its offsets point past the shorter file
        Files.setLastModifiedTime(bai, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", sorted.toString(), "--regions", bed.toString(),
                "--output", out.resolve("x.tsv").toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("does not match it"), r.err());
        try (var s = Files.list(out)) {
            assertEquals(List.of(), s.toList());
        }
        // its own index still works
        Files.copy(bai, dir.resolve("fresh.bai"));
        Files.setLastModifiedTime(fresh, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 120_000));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", fresh.toString(), "--regions", bed.toString(),
                "--output", out.resolve("x.tsv").toString());
        assertEquals(0, r.code(), r.err());
    }

    /** Issue 15: one IUPAC base in a read aborted the run ("'R' is not A, C, G, T or N", naming no file or read). */
    @Test
    void iupacBasesInReadsAreReadAsNAndCounted() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        Path sam = Files.writeString(dir.resolve("iupac.sam"), "@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chrA\tLN:1000\n"
                + "r1\t4\t*\t0\t0\t*\t*\t0\t0\tACGTRYACGTkmACGT\t*\n"
                + "r2\t4\t*\t0\t0\t*\t*\t0\t0\tACGTACGT=ACGT.ACGT\t*\n");
        Path fq = Files.writeString(dir.resolve("iupac.fq"), "@q1\nACGTNNSWACGT\n+\nIIIIIIIIIIII\n");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", sam.toString(), "--output", dir.resolve("s.tsv").toString(),
                "--include-unmapped");
        assertEquals(0, r.code(), r.err());
        assertEquals(3, Files.readAllLines(dir.resolve("s.tsv")).size());
        // R Y k m '=' (HTSJDK's SAM parser itself turns '.' into N)
        assertTrue(r.err().contains("note: 5 bases of " + sam + " were IUPAC codes (or '=' '.'), read as N"), r.err());
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", fq.toString(), "--output", dir.resolve("f.tsv").toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("note: 2 bases of " + fq), r.err());
        // a character that is no base at all still fails, naming the file and the read
        Path bad = Files.writeString(dir.resolve("bad.fq"), "@q1\nACGT5CGT\n+\nIIIIIIII\n");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", bad.toString(), "--output", dir.resolve("b.tsv").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(bad + ": read q1: base 5 is '5'"), r.err());
    }

    /**
     * Issue 15, data dropped on the way through: --bam-out adds a chained @PG, drops an earlier run's
     * XL/XP from the records it skips, writes CRAM when named .cram, and restores the NM/MD a CRAM input
     * keeps implicit (checked here against NM counted by hand).
     */
    @Test
    void bamOutAddsAProgramLineKeepsNoStaleCallsAndRoundTripsCram() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        String model = run.resolve("model").toString();
        Random rnd = new Random(3);
        byte[] refBases = new byte[100_000];
        for (int i = 0; i < refBases.length; i++) refBases[i] = (byte) "ACGT".charAt(rnd.nextInt(4));
        StringBuilder fa = new StringBuilder(">chrA\n");
        for (int i = 0; i < refBases.length; i += 60) fa.append(new String(refBases, i, Math.min(60, refBases.length - i), java.nio.charset.StandardCharsets.US_ASCII)).append('\n');
        Path ref = Files.writeString(dir.resolve("ref.fa"), fa); // no .fai: a CRAM reference gets one built
        List<SAMRecord> records = read(writeBam(dir.resolve("plain.bam")));
        SAMFileHeader header = records.get(0).getHeader().clone();
        htsjdk.samtools.SAMProgramRecord bwa = new htsjdk.samtools.SAMProgramRecord("bwa");
        bwa.setProgramName("bwa");
        header.addProgramRecord(bwa);
        Path old = dir.resolve("old.bam");
        try (SAMFileWriter w = new SAMFileWriterFactory().makeBAMWriter(header, true, old)) {
            for (SAMRecord rec : records) {
                rec.setHeader(header);
                rec.setAttribute("XL", "OLD");
                rec.setAttribute("XP", 0.99f);
                rec.setAttribute("NM", null); // to be restored from the reference after a CRAM round trip
                w.addAlignment(rec);
            }
        }
        Path out1 = dir.resolve("out1.bam"), out2 = dir.resolve("out2.bam");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", old.toString(), "--output", dir.resolve("1.tsv").toString(),
                "--bam-out", out1.toString(), "--min-mapq", "10");
        assertEquals(0, r.code(), r.err());
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", out1.toString(), "--output", dir.resolve("2.tsv").toString(),
                "--bam-out", out2.toString(), "--primary-only");
        assertEquals(0, r.code(), r.err());
        SAMFileHeader h1, h2;
        try (SamReader a = SamReaderFactory.makeDefault().open(out1); SamReader b = SamReaderFactory.makeDefault().open(out2)) {
            h1 = a.getFileHeader();
            h2 = b.getFileHeader();
        }
        assertEquals("bwa", h1.getProgramRecord("ssmtk").getPreviousProgramGroupId());
        assertTrue(h1.getProgramRecord("ssmtk").getCommandLine().startsWith("ssmtk dna classify-reads "), h1.getProgramRecord("ssmtk").getCommandLine());
        assertEquals("ssmtk", h2.getProgramRecord("ssmtk.1").getPreviousProgramGroupId(), "a second run chains after the first");
        List<SAMRecord> second = read(out2);
        for (SAMRecord rec : second) {
            boolean classified = !rec.getReadUnmappedFlag() && !rec.isSecondaryOrSupplementary();
            assertEquals(classified, rec.getAttribute("XL") != null, rec.getSAMString());
            assertTrue(!"OLD".equals(rec.getAttribute("XL")), "stale call kept: " + rec.getSAMString());
        }
        // CRAM out, by the name; then CRAM in -> BAM: NM and MD as the reference says
        Path cram = dir.resolve("out.cram"), back = dir.resolve("back.bam");
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", old.toString(), "--output", dir.resolve("3.tsv").toString(),
                "--bam-out", cram.toString(), "--reference", ref.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("built " + ref + ".fai"), r.err());
        assertEquals("CRAM", new String(Arrays.copyOf(Files.readAllBytes(cram), 4), java.nio.charset.StandardCharsets.ISO_8859_1));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", cram.toString(), "--output", dir.resolve("4.tsv").toString(),
                "--bam-out", back.toString(), "--reference", ref.toString());
        assertEquals(0, r.code(), r.err());
        List<SAMRecord> fromCram = read(back);
        assertEquals(records.size(), fromCram.size());
        int checked = 0;
        for (SAMRecord rec : fromCram) {
            if (rec.getReadUnmappedFlag()) continue;
            int nm = 0;
            byte[] b = rec.getReadBases();
            for (int i = 0; i < b.length; i++) if (b[i] != refBases[rec.getAlignmentStart() - 1 + i]) nm++;
            assertEquals(nm, rec.getIntegerAttribute("NM"), rec.getSAMString());
            assertTrue(rec.getStringAttribute("MD") != null, rec.getSAMString());
            checked++;
        }
        assertTrue(checked > 10);
        keepForRealClients(old, out1, out2, cram, back, ref, Path.of(ref + ".fai"));
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", old.toString(), "--output", dir.resolve("5.tsv").toString(),
                "--bam-out", dir.resolve("x.cram").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("is CRAM (by its name); give --reference"), r.err());
    }
}
