package org.ssmtk.genomics.io;

import htsjdk.samtools.reference.FastaSequenceIndex;
import htsjdk.samtools.reference.FastaSequenceIndexEntry;
import htsjdk.samtools.reference.ReferenceSequence;
import htsjdk.samtools.reference.ReferenceSequenceFile;
import htsjdk.samtools.reference.ReferenceSequenceFileFactory;
import htsjdk.samtools.util.IOUtil;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A FASTA reference read through HTSJDK: plain, gzip or bgzip, one record or many. With a
 * {@code .fai} (and, for bgzip, a {@code .gzi}) beside it, contigs and sub-ranges are read on demand
 * by random access; without, the file is read once, front to back, and kept in memory, which is
 * the only thing a plain-gzip stream allows.
 *
 * <p>Bases come back upper-case in A, C, G, T and N (see {@link DnaSequence}, {@link BaseCounts}).
 * Contig names end at the first whitespace, as in samtools faidx. Every failure is a
 * {@link FastaException} whose message starts with the file.
 */
public final class FastaReference implements Closeable {
    /** A contig's name and length in bases. */
    public record Contig(String name, long length) {}

    private final Path file;
    private final ReferenceSequenceFile reader;
    private final FastaSequenceIndex index;
    private Map<String, DnaSequence> loaded;

    private FastaReference(Path file, ReferenceSequenceFile reader, FastaSequenceIndex index) {
        this.file = file;
        this.reader = reader;
        this.index = index;
    }

    /** Opens {@code file}, indexed when its index files are present. */
    public static FastaReference open(Path file) throws FastaException {
        if (!Files.exists(file)) throw new FastaException(file, "no such file");
        if (!Files.isRegularFile(file)) throw new FastaException(file, "not a regular file");
        try {
            if (Files.size(file) == 0) throw new FastaException(file, "empty file (no FASTA records)");
            checkCompressionMatchesName(file);
        } catch (FastaException e) {
            throw e;
        } catch (IOException e) {
            throw new FastaException(file, "cannot read (" + e.getMessage() + ")", e);
        }
        ReferenceSequenceFile reader;
        try {
            reader = hasFastaExtension(file) ? ReferenceSequenceFileFactory.getReferenceSequenceFile(file, true, true) : openAnyName(file);
        } catch (RuntimeException e) {
            throw translate(file, "cannot open as FASTA", e);
        } catch (IOException e) {
            throw new FastaException(file, "cannot open as FASTA (" + e.getMessage() + ")", e);
        }
        FastaSequenceIndex index = null;
        if (reader.isIndexed()) {
            Path fai = ReferenceSequenceFileFactory.getFastaIndexFileName(file);
            try {
                index = new FastaSequenceIndex(fai);
            } catch (RuntimeException e) {
                closeQuietly(reader);
                throw translate(fai, "malformed FASTA index", e);
            }
            try {
                FastaIndexCheck.verify(file, fai, index, IOUtil.isBlockCompressed(file, true));
            } catch (FastaException e) {
                closeQuietly(reader);
                throw e;
            } catch (IOException e) {
                closeQuietly(reader);
                throw new FastaException(file, "cannot read (" + e.getMessage() + ")", e);
            }
        }
        return new FastaReference(file, reader, index);
    }

    public Path file() {
        return file;
    }

    /** True when contigs are read by random access through the index files. */
    public boolean isIndexed() {
        return index != null;
    }

    /** Contigs in file order (reads the whole file once when it has no index). */
    public List<Contig> contigs() throws FastaException {
        List<Contig> out = new ArrayList<>();
        if (index != null) {
            for (FastaSequenceIndexEntry e : index) out.add(new Contig(e.getContig(), e.getSize()));
        } else {
            for (DnaSequence s : loadAll().values()) out.add(new Contig(s.name(), s.length()));
        }
        return out;
    }

    /** The whole of one contig. */
    public DnaSequence sequence(String contig) throws FastaException {
        if (index == null) {
            DnaSequence s = loadAll().get(contig);
            if (s == null) throw unknown(contig);
            return s;
        }
        return subsequence(contig, 0, length(contig));
    }

    /** Bases {@code [start, end)} of a contig, 0-based and half-open as in BED. */
    public DnaSequence subsequence(String contig, long start, long end) throws FastaException {
        long length = length(contig);
        if (start < 0 || end < start || end > length)
            throw new FastaException(file, "range [" + start + ", " + end + ") is outside contig '" + contig + "' of " + length + " bases");
        if (end - start > Integer.MAX_VALUE - 8)
            throw new FastaException(file, "range [" + start + ", " + end + ") of '" + contig + "' is longer than one array can hold");
        byte[] raw;
        if (index == null) {
            DnaSequence s = loadAll().get(contig);
            raw = java.util.Arrays.copyOfRange(s.bases(), (int) start, (int) end);
            return new DnaSequence(contig, start, raw, recount(raw));
        }
        if (start == end) return new DnaSequence(contig, start, new byte[0], BaseCounts.ZERO);
        try {
            ReferenceSequence r = reader.getSubsequenceAt(contig, start + 1, end);
            raw = r.getBases();
        } catch (RuntimeException e) {
            throw translate(file, "cannot read '" + contig + "':" + start + "-" + end, e);
        }
        // A file cut short after it was indexed gives fewer bases than the .fai promised.
        if (raw.length != end - start)
            throw new FastaException(file, "truncated: contig '" + contig + "' [" + start + ", " + end + ") gave " + raw.length
                    + " bases where the index promises " + (end - start) + " (was the file changed after indexing?)");
        BaseCounts counts = Bases.normalize(file, contig, start, raw);
        return new DnaSequence(contig, start, raw, counts);
    }

    /** Every contig in file order. */
    public List<DnaSequence> readAll() throws FastaException {
        if (index == null) return List.copyOf(loadAll().values());
        List<DnaSequence> out = new ArrayList<>();
        for (Contig c : contigs()) out.add(sequence(c.name()));
        return out;
    }

    /** Receives records one at a time. */
    public interface RecordSink {
        void accept(DnaSequence record) throws Exception;
    }

    /**
     * Every contig in file order, one at a time and nothing kept: memory holds one record, however
     * many the file has. Checks as {@link #readAll()} does (names, duplicates, at least one record).
     */
    public void forEachRecord(RecordSink sink) throws Exception {
        if (index != null || loaded != null) {
            for (Contig c : contigs()) sink.accept(sequence(c.name()));
            return;
        }
        java.util.Set<String> seen = new java.util.HashSet<>();
        try {
            reader.reset();
        } catch (RuntimeException e) {
            throw translate(file, "malformed FASTA", e);
        }
        while (true) {
            ReferenceSequence r;
            try {
                r = reader.nextSequence();
            } catch (RuntimeException e) {
                throw translate(file, "malformed FASTA", e);
            }
            if (r == null) break;
            String name = r.getName();
            if (name.isEmpty()) throw new FastaException(file, "record " + (seen.size() + 1) + " has an empty name");
            if (!seen.add(name)) throw new FastaException(file, "contig '" + name + "' appears twice");
            byte[] raw = r.getBases();
            // the sink's own failures pass through as they are: they are not this file's
            sink.accept(new DnaSequence(name, 0, raw, Bases.normalize(file, name, 0, raw)));
        }
        if (seen.isEmpty()) throw new FastaException(file, "no FASTA records");
    }

    private long length(String contig) throws FastaException {
        if (index != null) {
            if (!index.hasIndexEntry(contig)) throw unknown(contig);
            return index.getIndexEntry(contig).getSize();
        }
        DnaSequence s = loadAll().get(contig);
        if (s == null) throw unknown(contig);
        return s.length();
    }

    private UnknownContigException unknown(String contig) throws FastaException {
        return new UnknownContigException(file, contig, contigs().stream().map(Contig::name).toList());
    }

    private Map<String, DnaSequence> loadAll() throws FastaException {
        if (loaded != null) return loaded;
        Map<String, DnaSequence> all = new LinkedHashMap<>();
        try {
            reader.reset();
            for (ReferenceSequence r; (r = reader.nextSequence()) != null; ) {
                String name = r.getName();
                if (name.isEmpty()) throw new FastaException(file, "record " + (all.size() + 1) + " has an empty name");
                if (all.containsKey(name)) throw new FastaException(file, "contig '" + name + "' appears twice");
                byte[] raw = r.getBases();
                all.put(name, new DnaSequence(name, 0, raw, Bases.normalize(file, name, 0, raw)));
            }
        } catch (FastaException e) {
            throw e;
        } catch (RuntimeException e) {
            throw translate(file, "malformed FASTA", e);
        }
        if (all.isEmpty()) throw new FastaException(file, "no FASTA records");
        loaded = all;
        return all;
    }

    private static BaseCounts recount(byte[] normalized) {
        long acgt = 0, n = 0;
        for (byte b : normalized) if (b == 'N') n++; else acgt++;
        // Soft-masking and IUPAC origin are gone once normalized; only the whole-contig counts keep them.
        return new BaseCounts(acgt, n, 0, 0);
    }

    private static boolean hasFastaExtension(Path file) {
        String name = file.getFileName().toString();
        return ReferenceSequenceFileFactory.FASTA_EXTENSIONS.stream().anyMatch(name::endsWith);
    }

    /**
     * HTSJDK's factory accepts only the usual extensions (.fa, .fasta, .fna, ... and their .gz), but
     * references come named otherwise (Ensembl's and Debian's {@code .dna.gz}, {@code .seq}): the
     * content decides here. The compression was checked against the name already, so HTSJDK's
     * readers, which pick gzip by a .gz/.bgz suffix, read it right.
     */
    private static ReferenceSequenceFile openAnyName(Path file) throws IOException {
        Path fai = ReferenceSequenceFileFactory.getFastaIndexFileName(file);
        // (no dictionary: HTSJDK would look for one by cutting a known extension off the name)
        if (!Files.isRegularFile(fai)) return new htsjdk.samtools.reference.FastaSequenceFile(file.toString(), new Rewinding(file), null, true);
        FastaSequenceIndex index = new FastaSequenceIndex(fai);
        var stream = new htsjdk.samtools.seekablestream.SeekableFileStream(file.toFile());
        if (!IOUtil.isBlockCompressed(file, true))
            return new htsjdk.samtools.reference.IndexedFastaSequenceFile(file.toString(), stream, index, null);
        return new htsjdk.samtools.reference.BlockCompressedIndexedFastaSequenceFile(file.toString(), stream, index, null,
                htsjdk.samtools.util.GZIIndex.loadIndex(htsjdk.samtools.util.GZIIndex.resolveIndexNameForBgzipFile(file)));
    }

    /** The file's (decompressed) bytes as a stream that can go back to the start, which is all a front-to-back read needs. */
    private static final class Rewinding extends htsjdk.samtools.seekablestream.SeekableStream {
        private final Path file;
        private java.io.PushbackInputStream in;
        private long position;

        Rewinding(Path file) throws IOException {
            this.file = file;
            this.in = new java.io.PushbackInputStream(IOUtil.openFileForReading(file), 1);
        }

        public long length() {
            return -1;
        }

        public long position() {
            return position;
        }

        public void seek(long to) throws IOException {
            if (to < position) {
                in.close();
                in = new java.io.PushbackInputStream(IOUtil.openFileForReading(file), 1);
                position = 0;
            }
            in.skipNBytes(to - position);
            position = to;
        }

        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) position++;
            return b;
        }

        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) position += n;
            return n;
        }

        public void close() throws IOException {
            in.close();
        }

        public boolean eof() throws IOException {
            int b = in.read();
            if (b < 0) return true;
            in.unread(b);
            return false;
        }

        public String getSource() {
            return file.toString();
        }
    }

    /**
     * HTSJDK picks gzip by the name, so a compressed file named .fa would be read as garbage
     * bases and a plain one named .gz fail deep inside the inflater: say so plainly instead.
     */
    private static void checkCompressionMatchesName(Path file) throws IOException {
        boolean gzip;
        try (InputStream in = Files.newInputStream(file)) {
            gzip = in.read() == 0x1f && in.read() == 0x8b;
        }
        String name = file.getFileName().toString();
        boolean gzName = name.endsWith(".gz") || name.endsWith(".bgz");
        if (gzip && !gzName) throw new FastaException(file, "is gzip-compressed but not named *.gz; rename it (e.g. " + name + ".gz)");
        if (!gzip && gzName) throw new FastaException(file, "is named *.gz but is not gzip-compressed");
        if (gzip && Files.exists(ReferenceSequenceFileFactory.getFastaIndexFileName(file)) && !IOUtil.isBlockCompressed(file, true))
            throw new FastaException(file, "has a .fai but is plain gzip, which cannot be read by random access; "
                    + "compress it with bgzip (and index with samtools faidx) or remove the .fai");
    }

    /** HTSJDK's unchecked exceptions, reworded as one line that starts with the file. */
    static FastaException translate(Path file, String what, RuntimeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EOFException || t instanceof htsjdk.samtools.FileTruncatedException
                    || (t.getMessage() != null && t.getMessage().contains("Unexpected end of")))
                return new FastaException(file, "truncated or corrupt compressed data (" + oneLine(t) + ")", e);
        }
        String msg = oneLine(e);
        if (msg.contains("Expected > but saw"))
            return new FastaException(file, what + ": a record does not start with a '>' header line (is this a FASTA file?)", e);
        // HTSJDK often names the file itself; do not say it twice.
        msg = msg.replace(file.toAbsolutePath().toString(), "").replace(file.toString(), "").replaceAll("\\s+", " ").trim();
        return new FastaException(file, what + ": " + msg, e);
    }

    private static String oneLine(Throwable t) {
        String m = t.getMessage();
        return (m == null ? t.getClass().getSimpleName() : m).replace('\n', ' ');
    }

    private static void closeQuietly(Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // already failing with a better message
        }
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
