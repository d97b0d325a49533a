package org.ssmtk.genomics.io;

import htsjdk.samtools.util.BlockCompressedOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FastaReferenceTest {
    static Path data;
    @TempDir
    Path dir;

    @BeforeAll
    static void locate() {
        data = Path.of("..", "test-data", "genomics").toAbsolutePath().normalize();
    }

    /** small.fa decoded independently of HTSJDK: record name to raw bases. */
    static java.util.Map<String, String> expected() throws IOException {
        java.util.Map<String, StringBuilder> m = new java.util.LinkedHashMap<>();
        StringBuilder cur = null;
        for (String line : Files.readAllLines(data.resolve("small.fa"))) {
            if (line.startsWith(">")) m.put(line.substring(1).split("\\s")[0], cur = new StringBuilder());
            else cur.append(line);
        }
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v.toString()));
        return out;
    }

    static String normalized(String raw) {
        return raw.toUpperCase().replaceAll("[RYSWKMBDHV]", "N");
    }

    @Test
    void everyFormReadsTheSameBases() throws IOException {
        var want = expected();
        for (String name : List.of("small.fa", "small.fa.gz", "small.bgzf.fa.gz")) {
            try (FastaReference ref = FastaReference.open(data.resolve(name))) {
                assertEquals(!name.equals("small.fa.gz"), ref.isIndexed(), name);
                assertEquals(List.of(new FastaReference.Contig("chr1", 6000), new FastaReference.Contig("chr2", 3000),
                        new FastaReference.Contig("chrM", 500)), ref.contigs(), name);
                List<DnaSequence> all = ref.readAll();
                assertEquals(3, all.size());
                for (DnaSequence s : all) assertEquals(normalized(want.get(s.name())), new String(s.bases(), StandardCharsets.US_ASCII), name + " " + s.name());
            }
        }
    }

    @Test
    void countsSoftMaskingAndIupacCodes() throws IOException {
        try (FastaReference ref = FastaReference.open(data.resolve("small.fa"))) {
            BaseCounts c1 = ref.sequence("chr1").counts();
            assertEquals(600, c1.softMasked());
            assertEquals(100, c1.n());
            assertEquals(0, c1.iupac());
            assertEquals(6000, c1.total());
            BaseCounts c2 = ref.sequence("chr2").counts();
            assertEquals(6, c2.iupac());
            assertEquals(2994, c2.acgt());
        }
    }

    @Test
    void randomAccessAcrossBgzfBlocks() throws IOException {
        String chr1 = normalized(expected().get("chr1"));
        for (String name : List.of("small.fa", "small.bgzf.fa.gz", "small.fa.gz")) {
            try (FastaReference ref = FastaReference.open(data.resolve(name))) {
                DnaSequence s = ref.subsequence("chr1", 4000, 5500);
                assertEquals(4000, s.start());
                assertEquals(chr1.substring(4000, 5500), new String(s.bases(), StandardCharsets.US_ASCII), name);
                assertEquals(0, ref.subsequence("chrM", 500, 500).length());
                FastaException e = assertThrows(FastaException.class, () -> ref.subsequence("chrM", 10, 501));
                assertTrue(e.getMessage().contains("outside contig 'chrM' of 500 bases"), e.getMessage());
            }
        }
    }

    @Test
    void bgzipWrittenByHtsjdkIsReadToo() throws IOException {
        Path bgz = dir.resolve("htsjdk.fa.gz");
        try (var out = new BlockCompressedOutputStream(bgz.toFile())) {
            out.write(Files.readAllBytes(data.resolve("small.fa")));
        }
        try (FastaReference ref = FastaReference.open(bgz)) {
            assertFalse(ref.isIndexed()); // no .fai/.gzi: read front to back
            assertEquals(500, ref.sequence("chrM").length());
        }
    }

    @Test
    void missingContigNamesFileAndContig() throws IOException {
        for (String name : List.of("small.fa", "small.fa.gz")) {
            try (FastaReference ref = FastaReference.open(data.resolve(name))) {
                UnknownContigException e = assertThrows(UnknownContigException.class, () -> ref.sequence("chrX"));
                assertTrue(e.getMessage().startsWith(data.resolve(name) + ": no contig named 'chrX'"), e.getMessage());
                assertTrue(e.getMessage().contains("chr1, chr2, chrM"), e.getMessage());
            }
        }
    }

    @Test
    void emptyAndMissingFiles() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.fa"));
        FastaException e = assertThrows(FastaException.class, () -> FastaReference.open(empty));
        assertEquals(empty + ": empty file (no FASTA records)", e.getMessage());
        Path none = dir.resolve("none.fa");
        assertEquals(none + ": no such file", assertThrows(FastaException.class, () -> FastaReference.open(none)).getMessage());
        Path blank = Files.writeString(dir.resolve("blank.fa"), "\n\n");
        e = assertThrows(FastaException.class, () -> readAll(blank));
        assertTrue(e.getMessage().startsWith(blank + ": "), e.getMessage());
    }

    @Test
    void malformedFiles() throws IOException {
        Path noHeader = Files.writeString(dir.resolve("noheader.fa"), "ACGT\nACGT\n");
        FastaException e = assertThrows(FastaException.class, () -> readAll(noHeader));
        assertEquals(noHeader + ": malformed FASTA: a record does not start with a '>' header line (is this a FASTA file?)", e.getMessage());

        Path badBase = Files.writeString(dir.resolve("bad.fa"), ">a\nACGT\n>b\nAC-T\n");
        e = assertThrows(FastaException.class, () -> readAll(badBase));
        assertEquals(badBase + ": contig 'b' position 3: '-' is not a nucleotide (A, C, G, T, N or an IUPAC code)", e.getMessage());

        Path dup = Files.writeString(dir.resolve("dup.fa"), ">a\nACGT\n>a\nACGT\n");
        assertEquals(dup + ": contig 'a' appears twice", assertThrows(FastaException.class, () -> readAll(dup)).getMessage());

        Path binary = dir.resolve("packed.fa");
        Files.write(binary, gzip(">a\nACGT\n".getBytes(StandardCharsets.US_ASCII)));
        e = assertThrows(FastaException.class, () -> FastaReference.open(binary));
        assertTrue(e.getMessage().contains("gzip-compressed but not named *.gz"), e.getMessage());

        Path fake = Files.writeString(dir.resolve("fake.fa.gz"), ">a\nACGT\n");
        e = assertThrows(FastaException.class, () -> FastaReference.open(fake));
        assertTrue(e.getMessage().contains("not gzip-compressed"), e.getMessage());
    }

    @Test
    void truncatedFiles() throws IOException {
        byte[] gz = Files.readAllBytes(data.resolve("small.fa.gz"));
        Path cut = dir.resolve("cut.fa.gz");
        Files.write(cut, java.util.Arrays.copyOf(gz, gz.length / 2));
        FastaException e = assertThrows(FastaException.class, () -> readAll(cut));
        assertTrue(e.getMessage().startsWith(cut + ": truncated or corrupt compressed data"), e.getMessage());

        // Indexed plain FASTA cut short after indexing: the index promises more than is there.
        byte[] fa = Files.readAllBytes(data.resolve("small.fa"));
        Path shortFa = dir.resolve("short.fa");
        Files.write(shortFa, java.util.Arrays.copyOf(fa, fa.length - 200));
        Files.copy(data.resolve("small.fa.fai"), dir.resolve("short.fa.fai"));
        // (found when it is opened: the index no longer matches the file)
        e = assertThrows(FastaException.class, () -> FastaReference.open(shortFa).close());
        assertTrue(e.getMessage().startsWith(shortFa + ": its index "), e.getMessage());

        // Indexed bgzip cut in the middle.
        byte[] bgz = Files.readAllBytes(data.resolve("small.bgzf.fa.gz"));
        Path cutBgz = dir.resolve("cut.bgzf.fa.gz");
        Files.write(cutBgz, java.util.Arrays.copyOf(bgz, bgz.length * 2 / 3));
        Files.copy(data.resolve("small.bgzf.fa.gz.fai"), dir.resolve("cut.bgzf.fa.gz.fai"));
        Files.copy(data.resolve("small.bgzf.fa.gz.gzi"), dir.resolve("cut.bgzf.fa.gz.gzi"));
        e = assertThrows(FastaException.class, () -> readAll(cutBgz));
        assertTrue(e.getMessage().startsWith(cutBgz + ": "), e.getMessage());
    }

    @Test
    void plainGzipWithAnIndexIsRefused() throws IOException {
        Path gz = Files.copy(data.resolve("small.fa.gz"), dir.resolve("x.fa.gz"));
        Files.copy(data.resolve("small.fa.fai"), dir.resolve("x.fa.gz.fai"));
        FastaException e = assertThrows(FastaException.class, () -> FastaReference.open(gz));
        assertTrue(e.getMessage().contains("plain gzip"), e.getMessage());
    }

    private static void readAll(Path p) throws IOException {
        try (FastaReference ref = FastaReference.open(p)) {
            ref.readAll();
        }
    }

    private static byte[] gzip(byte[] b) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(bos)) {
            g.write(b);
        }
        return bos.toByteArray();
    }


    @Test
    void recordsStreamOneAtATimeAsReadAllGivesThemAndTheSinksFailuresPassThrough(@TempDir Path tmp) throws Exception {
        Path fa = Files.writeString(tmp.resolve("three.fa"), ">a\nACGTN\n>b desc\nacgt\nRYK\n>c\nGG\n");
        List<DnaSequence> streamed = new java.util.ArrayList<>();
        try (FastaReference ref = FastaReference.open(fa)) {
            ref.forEachRecord(streamed::add);
            List<DnaSequence> all = ref.readAll();
            assertEquals(all.size(), streamed.size());
            for (int i = 0; i < all.size(); i++) {
                assertEquals(all.get(i).name(), streamed.get(i).name());
                org.junit.jupiter.api.Assertions.assertArrayEquals(all.get(i).bases(), streamed.get(i).bases());
            }
        }
        // an error of the consumer is the consumer's, not "malformed FASTA"
        try (FastaReference ref = FastaReference.open(fa)) {
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> ref.forEachRecord(r -> { throw new IllegalStateException("model failed on " + r.name()); }));
            assertEquals("model failed on a", e.getMessage());
        }
        Path dup = Files.writeString(tmp.resolve("dup.fa"), ">a\nAC\n>a\nGT\n");
        try (FastaReference ref = FastaReference.open(dup)) {
            FastaException e = org.junit.jupiter.api.Assertions.assertThrows(FastaException.class, () -> ref.forEachRecord(r -> {}));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("appears twice"), e.getMessage());
        }
    }

    // Issue 15: a stale .fai was trusted (contigs silently halved or renamed).

    private Path copyWithIndex(String fasta, String fai) throws IOException {
        Path fa = Files.copy(data.resolve("small.fa"), dir.resolve(fasta));
        Files.writeString(dir.resolve(fasta + ".fai"), fai);
        return fa;
    }

    @Test
    void aStaleIndexIsAnErrorNamingBothFiles() throws IOException {
        String good = Files.readString(data.resolve("small.fa.fai"));
        Path renamed = copyWithIndex("renamed.fa", good.replace("chr2\t", "chrX\t"));
        Path halved = copyWithIndex("halved.fa", good.replace("chr1\t6000", "chr1\t3000"));
        Path longer = copyWithIndex("longer.fa", good.replace("chrM\t500", "chrM\t560"));
        Path moved = copyWithIndex("moved.fa", good.replace("6181", "6180"));
        for (Path fa : List.of(renamed, halved, longer, moved)) {
            FastaException e = assertThrows(FastaException.class, () -> {
                try (FastaReference r = FastaReference.open(fa)) {
                    r.readAll();
                }
            }, fa.toString());
            assertTrue(e.getMessage().startsWith(fa + ": its index " + fa + ".fai does not match it: contig '"), e.getMessage());
            assertTrue(e.getMessage().contains("samtools faidx"), e.getMessage());
        }
        // the right index still opens (and so does the bgzip one, through its .gzi)
        try (FastaReference r = FastaReference.open(copyWithIndex("fine.fa", good))) {
            assertEquals(3, r.readAll().size());
        }
        try (FastaReference r = FastaReference.open(data.resolve("small.bgzf.fa.gz"))) {
            assertTrue(r.isIndexed());
        }
    }

    @Test
    void aStaleIndexOfABgzipFastaIsAnErrorToo() throws IOException {
        Path fa = Files.copy(data.resolve("small.bgzf.fa.gz"), dir.resolve("s.fa.gz"));
        Files.copy(data.resolve("small.bgzf.fa.gz.gzi"), dir.resolve("s.fa.gz.gzi"));
        Files.writeString(dir.resolve("s.fa.gz.fai"), Files.readString(data.resolve("small.bgzf.fa.gz.fai")).replace("chr1\t6000", "chr1\t3000"));
        FastaException e = assertThrows(FastaException.class, () -> FastaReference.open(fa).close());
        assertTrue(e.getMessage().contains("does not match it: contig 'chr1' is longer than the index's 3000 bases"), e.getMessage());
    }

    /** Issue 15: Debian's and Ensembl's `.dna.gz` was refused with a message cut after "file type:". */
    @Test
    void unusualExtensionsAreReadByContent() throws IOException {
        var want = expected();
        Path dnaGz = Files.copy(data.resolve("small.fa.gz"), dir.resolve("genome.dna.gz"));
        Path seq = Files.copy(data.resolve("small.fa"), dir.resolve("genome.seq"));
        Path indexed = Files.copy(data.resolve("small.fa"), dir.resolve("indexed.dna"));
        Files.copy(data.resolve("small.fa.fai"), dir.resolve("indexed.dna.fai"));
        Path bgz = Files.copy(data.resolve("small.bgzf.fa.gz"), dir.resolve("b.dna.gz"));
        Files.copy(data.resolve("small.bgzf.fa.gz.fai"), dir.resolve("b.dna.gz.fai"));
        Files.copy(data.resolve("small.bgzf.fa.gz.gzi"), dir.resolve("b.dna.gz.gzi"));
        for (Path p : List.of(dnaGz, seq, indexed, bgz)) {
            try (FastaReference ref = FastaReference.open(p)) {
                assertEquals(p == indexed || p == bgz, ref.isIndexed(), p.toString());
                for (DnaSequence s : ref.readAll())
                    assertEquals(normalized(want.get(s.name())), new String(s.bases(), StandardCharsets.US_ASCII), p + " " + s.name());
            }
        }
    }
}
