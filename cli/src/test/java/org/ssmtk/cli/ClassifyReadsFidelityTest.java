package org.ssmtk.cli;

import htsjdk.samtools.util.BlockCompressedInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.genomics.io.DnaSequence;
import org.ssmtk.genomics.io.FastaReference;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code classify-reads --bam-out} keeps what it does not own literally (issue #15): the input's header
 * text (@HD VN, line order, field order) with one @PG line appended, and each record's tags in stored
 * order with XL/XP appended. The outputs are read by a BAM parser written here, not through HTSJDK's
 * record decoder (which sorts tags), and the CRAM by samtools where it is installed (CRAM: header
 * text literal; tags all there, but in HTSJDK's CRAM encoder's sorted order).
 */
class ClassifyReadsFidelityTest {
    @TempDir
    static Path dir;
    static String model;

    /** Header lines in an order HTSJDK would regroup, @HD VN:1.4, @SQ fields not in HTSJDK's order. */
    static final String HEADER = String.join("\n",
            "@HD\tVN:1.4\tSO:unsorted",
            "@CO\tfirst comment, before the references",
            "@SQ\tSN:chrA\tAS:toy\tLN:100000",
            "@PG\tID:bwa\tPN:bwa\tVN:0.7.17",
            "@RG\tID:rg1\tSM:s1\tPL:ILLUMINA",
            "@CO\tsecond comment") + "\n";
    /** Tags in no sorted order (HTSJDK's list would be BC RG ZB NM AS ZZ by tag value); ZB an unsigned byte array. */
    static final List<String> TAGS = List.of("ZZ", "RG", "AS", "NM", "ZB", "BC");

    @BeforeAll
    static void trainModel() {
        Path run = dir.resolve("run");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(run, "--steps", "2"));
        assertEquals(0, r.code(), r.err());
        model = run.resolve("model").toString();
    }

    /** 30 reads of class-a.fa, mapped, every third with MAPQ 3 (skipped with --min-mapq 10: no XL/XP). */
    static Path writeSam(Path sam) throws Exception {
        List<DnaSequence> contigs;
        try (FastaReference ref = FastaReference.open(DnaCommandsTest.DATA.resolve("class-a.fa"))) {
            contigs = ref.readAll();
        }
        Random rnd = new Random(11);
        StringBuilder b = new StringBuilder(HEADER);
        for (int i = 0; i < 30; i++) {
            DnaSequence s = contigs.get(i % contigs.size());
            int len = 40 + rnd.nextInt(60), from = rnd.nextInt(s.length() - len);
            String seq = new String(Arrays.copyOfRange(s.bases(), from, from + len), StandardCharsets.US_ASCII);
            b.append("r").append(i).append('\t').append(i % 2 == 0 ? 0 : 16).append("\tchrA\t").append(1 + rnd.nextInt(90_000))
                    .append('\t').append(i % 3 == 2 ? 3 : 60).append('\t').append(len).append("M\t*\t0\t0\t").append(seq).append("\t*")
                    .append("\tZZ:Z:note").append("\tRG:Z:rg1").append("\tAS:i:").append(len).append("\tNM:i:0")
                    .append("\tZB:B:C,1,2,").append(i).append("\tBC:Z:ACGT\n");
        }
        return Files.writeString(sam, b);
    }

    /** A BAM file's header text and each record's tag names and types ("ZB:B:C"), parsed from the bytes. */
    record RawBam(String header, List<List<String>> tags) {
        static RawBam read(Path bam) throws IOException {
            try (DataInputStream in = new DataInputStream(new BlockCompressedInputStream(bam.toFile()))) {
                byte[] magic = new byte[4];
                in.readFully(magic);
                assertEquals("BAM\1", new String(magic, StandardCharsets.ISO_8859_1));
                String header = new String(in.readNBytes(int32(in)), StandardCharsets.UTF_8);
                int refs = int32(in);
                for (int i = 0; i < refs; i++) {
                    in.readNBytes(int32(in));
                    int32(in);
                }
                List<List<String>> tags = new ArrayList<>();
                while (true) {
                    int size;
                    try {
                        size = int32(in);
                    } catch (EOFException e) {
                        break;
                    }
                    ByteBuffer r = ByteBuffer.wrap(in.readNBytes(size)).order(ByteOrder.LITTLE_ENDIAN);
                    int nameLen = r.get(8) & 0xff, cigarOps = r.getShort(12) & 0xffff, seqLen = r.getInt(16);
                    r.position(32 + nameLen + 4 * cigarOps + (seqLen + 1) / 2 + seqLen);
                    List<String> t = new ArrayList<>();
                    while (r.hasRemaining()) {
                        String tag = "" + (char) r.get() + (char) r.get();
                        char type = (char) r.get();
                        switch (type) {
                            case 'A', 'c', 'C' -> r.get();
                            case 's', 'S' -> r.getShort();
                            case 'i', 'I', 'f' -> r.getInt();
                            case 'Z', 'H' -> { while (r.get() != 0) { } }
                            case 'B' -> {
                                char sub = (char) r.get();
                                int n = r.getInt(), w = "cC".indexOf(sub) >= 0 ? 1 : "sS".indexOf(sub) >= 0 ? 2 : 4;
                                r.position(r.position() + n * w);
                                tag += ":B:" + sub;
                            }
                            default -> throw new AssertionError("tag type " + type);
                        }
                        t.add(tag);
                    }
                    tags.add(t);
                }
                return new RawBam(header, tags);
            }
        }

        private static int int32(DataInputStream in) throws IOException {
            byte[] b = new byte[4];
            in.readFully(b);
            return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
        }
    }

    static List<String> expectedTags(int read, boolean classified) {
        List<String> t = new ArrayList<>(TAGS.stream().map(s -> s.equals("ZB") ? "ZB:B:C" : s).toList());
        if (classified) t.addAll(List.of("XL", "XP"));
        return t;
    }

    @Test
    void headerTextVersionAndTagOrderSurviveSamToBamAndBamToBam() throws Exception {
        Path sam = writeSam(dir.resolve("in.sam")), out1 = dir.resolve("literal1.bam"), out2 = dir.resolve("literal2.bam");
        MainTest.Result r = MainTest.run("dna", "classify-reads", "--model", model, "--input", sam.toString(), "--output",
                dir.resolve("1.tsv").toString(), "--bam-out", out1.toString(), "--min-mapq", "10");
        assertEquals(0, r.code(), r.err());
        RawBam a = RawBam.read(out1);
        // the header as written, VN:1.4 and all, then ssmtk's @PG chained after bwa's
        assertTrue(a.header().startsWith(HEADER), a.header());
        String pg = a.header().substring(HEADER.length());
        assertTrue(pg.startsWith("@PG\tID:ssmtk\t") && pg.contains("\tPP:bwa") && pg.endsWith("\n") && pg.lines().count() == 1, pg);
        assertEquals(30, a.tags().size());
        for (int i = 0; i < 30; i++) assertEquals(expectedTags(i, i % 3 != 2), a.tags().get(i), "read r" + i);

        // BAM in (tags unsorted, as just checked) -> BAM out: the same order, earlier XL/XP replaced in place or dropped
        r = MainTest.run("dna", "classify-reads", "--model", model, "--input", out1.toString(), "--output", dir.resolve("2.tsv").toString(),
                "--bam-out", out2.toString(), "--min-mapq", "10", "--primary-only");
        assertEquals(0, r.code(), r.err());
        RawBam b = RawBam.read(out2);
        assertTrue(b.header().startsWith(a.header()), b.header());
        assertTrue(b.header().substring(a.header().length()).startsWith("@PG\tID:ssmtk.1\t"), b.header());
        for (int i = 0; i < 30; i++) assertEquals(expectedTags(i, i % 3 != 2), b.tags().get(i), "read r" + i);

        // SAM on standard input takes the same path
        Path out3 = dir.resolve("out3.bam");
        java.io.InputStream stdin = System.in;
        try {
            System.setIn(Files.newInputStream(sam));
            r = MainTest.run("dna", "classify-reads", "--model", model, "--input", "-", "--output", dir.resolve("3.tsv").toString(),
                    "--bam-out", out3.toString(), "--min-mapq", "10");
        } finally {
            System.setIn(stdin);
        }
        assertEquals(0, r.code(), r.err());
        RawBam c = RawBam.read(out3);
        assertTrue(c.header().startsWith(HEADER), c.header());
        assertEquals(a.tags(), c.tags());
        DnaClassifyReadsCommandTest.keepForRealClients(out1, out2);
    }

    @Test
    void cramOutKeepsHeaderTextAndEveryTagAsSamtoolsReadsThem() throws Exception {
        Path samtools = Path.of("/usr/bin/samtools");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(samtools), "samtools not installed (CI installs it)");
        Path sam = writeSam(dir.resolve("c.sam")), cram = dir.resolve("c.cram");
        Random rnd = new Random(5);
        StringBuilder fa = new StringBuilder(">chrA\n");
        for (int i = 0; i < 100_000; i += 50) { // the @SQ line's LN exactly
            char[] line = new char[50];
            for (int j = 0; j < 50; j++) line[j] = "ACGT".charAt(rnd.nextInt(4));
            fa.append(line).append('\n');
        }
        Path ref = Files.writeString(dir.resolve("c.fa"), fa);
        MainTest.Result r = MainTest.run("dna", "classify-reads", "--model", model, "--input", sam.toString(), "--output",
                dir.resolve("c.tsv").toString(), "--bam-out", cram.toString(), "--reference", ref.toString(), "--min-mapq", "10");
        assertEquals(0, r.code(), r.err());
        String header = exec(samtools.toString(), "view", "-H", "--no-PG", cram.toString());
        assertTrue(header.startsWith(HEADER), header);
        assertTrue(header.substring(HEADER.length()).startsWith("@PG\tID:ssmtk\t"), header);
        List<String> rows = exec(samtools.toString(), "view", "--no-PG", "-T", ref.toString(), cram.toString()).lines().toList();
        assertEquals(30, rows.size());
        for (int i = 0; i < 30; i++) {
            List<String> tags = new ArrayList<>();
            String[] f = rows.get(i).split("\t");
            for (int k = 11; k < f.length; k++) {
                String tag = f[k].substring(0, 2);
                if (!tag.equals("MD")) tags.add(tag);
            }
            // HTSJDK's CRAM encoder sorts each record's tags into its tag dictionary (CompressionHeaderFactory),
            // and samtools adds MD: in CRAM only the set of tags is kept, not their order
            List<String> want = new ArrayList<>(expectedTags(i, i % 3 != 2).stream().map(t -> t.substring(0, 2)).toList());
            want.sort(null);
            tags.sort(null);
            assertEquals(want, tags, rows.get(i));
        }
    }

    private static String exec(String... cmd) throws Exception {
        Path err = Files.createTempFile(dir, "samtools", ".err");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + Files.readString(err));
        assertTrue(Files.readString(err).isEmpty(), String.join(" ", cmd) + ": " + Files.readString(err));
        return out;
    }
}
