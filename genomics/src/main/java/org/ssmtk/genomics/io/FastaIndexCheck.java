package org.ssmtk.genomics.io;

import htsjdk.samtools.reference.FastaSequenceIndex;
import htsjdk.samtools.reference.FastaSequenceIndexEntry;
import htsjdk.samtools.seekablestream.SeekableFileStream;
import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.samtools.util.GZIIndex;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks that a {@code .fai} describes the FASTA beside it. HTSJDK trusts the index: one left over
 * from an older version of the file gives contigs cut short, or another contig's bases under a name,
 * without an error. Here each contig's header line must sit just before its offset and name it, and
 * its last base must sit where name length, line width and offset put it, followed by a line end:
 * a renamed, lengthened, shortened or moved contig fails. Two small reads per contig (for bgzip,
 * through the {@code .gzi}); past {@link #MAX_CHECKED} contigs an even sample of them, first and
 * last included, so that an assembly of a million scaffolds opens in about the same time.
 */
final class FastaIndexCheck {
    static final int MAX_CHECKED = 4096;
    private static final int HEADER_WINDOW = 4096, TAIL = 64;

    private FastaIndexCheck() {}

    static void verify(Path fasta, Path fai, FastaSequenceIndex index, boolean bgzip) throws FastaException {
        List<FastaSequenceIndexEntry> entries = new ArrayList<>();
        index.forEach(entries::add);
        if (entries.isEmpty()) return;
        int n = entries.size(), checks = Math.min(n, MAX_CHECKED);
        try (Reader r = bgzip ? new Bgzf(fasta) : new Plain(fasta)) {
            for (int k = 0; k < checks; k++) {
                FastaSequenceIndexEntry e = entries.get(checks == n ? k : (int) ((long) k * (n - 1) / (checks - 1)));
                String problem = check(r, e);
                if (problem != null)
                    throw new FastaException(fasta, "its index " + fai + " does not match it: contig '" + e.getContig() + "' " + problem
                            + " (stale index: rebuild it with samtools faidx " + fasta + ")");
            }
        } catch (FastaException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new FastaException(fasta, "its index " + fai + " does not match it: " + e.getMessage()
                    + " (stale index: rebuild it with samtools faidx " + fasta + ")", e);
        }
    }

    private static String check(Reader r, FastaSequenceIndexEntry e) throws IOException {
        long offset = e.getLocation(), size = e.getSize();
        int bpl = e.getBasesPerLine(), bytesPerLine = e.getBytesPerLine();
        if (offset < 1 || bpl < 1 || bytesPerLine < bpl) return "has an impossible index line";
        long from = Math.max(0, offset - HEADER_WINDOW);
        byte[] before = r.read(from, (int) (offset - from));
        if (before.length != offset - from) return "starts past the end of the file";
        int end = before.length;
        if (end == 0 || before[end - 1] != '\n') return "does not start after a line end (offset " + offset + ")";
        end--;
        if (end > 0 && before[end - 1] == '\r') end--;
        int start = end;
        while (start > 0 && before[start - 1] != '\n') start--;
        if (start > 0 || from == 0) { // a header longer than the window is not judged
            String header = new String(before, start, end - start, java.nio.charset.StandardCharsets.ISO_8859_1);
            String name = e.getContig();
            boolean ok = header.startsWith(">" + name) && (header.length() == name.length() + 1
                    || Character.isWhitespace(header.charAt(name.length() + 1)));
            if (!ok) return "is not the record at offset " + offset + " (the header there is '" + abbreviate(header) + "')";
        }
        if (size == 0) return null;
        long last = offset + (size - 1) / bpl * bytesPerLine + (size - 1) % bpl;
        byte[] tail = r.read(last, TAIL);
        if (tail.length == 0) return "is " + size + " bases in the index but the file ends before that";
        if (!isBase(tail[0])) return "is shorter than the index's " + size + " bases";
        // after the last base: line ends (blank lines allowed), then the next header or the end of the file
        int i = 1;
        if (i < tail.length && tail[i] != '\n' && tail[i] != '\r') return "is longer than the index's " + size + " bases";
        while (i < tail.length && (tail[i] == '\n' || tail[i] == '\r')) i++;
        if (i < tail.length && tail[i] != '>') return "is longer than the index's " + size + " bases";
        return null;
    }

    private static boolean isBase(byte b) {
        return b > ' ' && b != '>' && b != ';';
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    private interface Reader extends Closeable {
        /** Up to n bytes from pos (fewer at the end of the file). */
        byte[] read(long pos, int n) throws IOException;
    }

    private static final class Plain implements Reader {
        private final FileChannel ch;

        Plain(Path p) throws IOException {
            ch = FileChannel.open(p, StandardOpenOption.READ);
        }

        public byte[] read(long pos, int n) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(n);
            while (b.hasRemaining()) if (ch.read(b, pos + b.position()) < 0) break;
            return java.util.Arrays.copyOf(b.array(), b.position());
        }

        public void close() throws IOException {
            ch.close();
        }
    }

    private static final class Bgzf implements Reader {
        private final BlockCompressedInputStream in;
        private final GZIIndex gzi;

        Bgzf(Path p) throws IOException {
            gzi = GZIIndex.loadIndex(GZIIndex.resolveIndexNameForBgzipFile(p));
            in = new BlockCompressedInputStream(new SeekableFileStream(p.toFile()));
        }

        public byte[] read(long pos, int n) throws IOException {
            in.seek(gzi.getVirtualOffsetForSeek(pos));
            return in.readNBytes(n);
        }

        public void close() throws IOException {
            in.close();
        }
    }
}
