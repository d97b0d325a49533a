package org.ssmtk.genomics.io;

import htsjdk.samtools.SAMFileHeader;
import htsjdk.samtools.cram.build.CramIO;
import htsjdk.samtools.util.BlockCompressedInputStream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

/**
 * What {@code samtools quickcheck} checks, before a BAM or CRAM is read: HTSJDK reads a BAM cut inside
 * its first block as a file with no records, and one without its end-of-file block as complete.
 * A BAM must end with the BGZF EOF block and have no defective last block; a CRAM 3 must end with its
 * EOF container. And an index used for {@code --regions} must belong to the file: one older than the
 * data, or listing another number of references than the header, answers queries from another file
 * (typically zero records, exit 0).
 */
public final class AlignmentFileCheck {
    private AlignmentFileCheck() {}

    /** The input is incomplete or not what its first bytes say. */
    public static final class IncompleteFileException extends IOException {
        public IncompleteFileException(String message) {
            super(message);
        }
    }

    /** Checks a BAM or CRAM's end (SAM, being text, has none to check). */
    public static void checkComplete(Path file) throws IOException {
        byte[] magic;
        try (InputStream in = Files.newInputStream(file)) {
            magic = in.readNBytes(4);
        }
        if (magic.length >= 4 && magic[0] == 'C' && magic[1] == 'R' && magic[2] == 'A' && magic[3] == 'M') {
            checkCram(file);
            return;
        }
        if (magic.length < 2 || (magic[0] & 0xff) != 0x1f || (magic[1] & 0xff) != 0x8b) return; // SAM text
        switch (BlockCompressedInputStream.checkTermination(file)) {
            case HAS_TERMINATOR_BLOCK -> { }
            case HAS_HEALTHY_LAST_BLOCK -> throw new IncompleteFileException(file + ": no BGZF end-of-file block: the file is truncated"
                    + " (or was written by a tool that did not finish); samtools quickcheck fails it too");
            case DEFECTIVE -> throw new IncompleteFileException(file + ": truncated or corrupt: its last BGZF block is cut short");
        }
    }

    private static void checkCram(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(6);
            ch.read(head, 0);
            int major = head.get(4);
            if (major < 3) return; // CRAM 2's EOF marker is optional in practice; HTSJDK reads to the end
            byte[] eof = CramIO.ZERO_F_EOF_MARKER;
            long size = ch.size();
            if (size < 26 + eof.length) throw new IncompleteFileException(file + ": truncated CRAM (" + size + " bytes)");
            ByteBuffer tail = ByteBuffer.allocate(eof.length);
            ch.read(tail, size - eof.length);
            if (!Arrays.equals(tail.array(), eof))
                throw new IncompleteFileException(file + ": no CRAM end-of-file container: the file is truncated; samtools quickcheck fails it too");
        }
    }

    /**
     * Checks that the index HTSJDK will use for {@code file} was made from it: not older than it, and
     * (for a {@code .bai}) covering exactly the header's references with chunks inside the file.
     */
    public static void checkIndex(Path file, SAMFileHeader header) throws IOException {
        Path index = indexOf(file);
        if (index == null) return;
        if (Files.getLastModifiedTime(index).compareTo(Files.getLastModifiedTime(file)) < 0)
            throw new IncompleteFileException(file + ": its index " + index + " is older than the file (stale: rebuild it with samtools index " + file + ")");
        if (!index.getFileName().toString().endsWith(".bai")) return;
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(index)).order(ByteOrder.LITTLE_ENDIAN);
        String problem = baiProblem(b, header.getSequenceDictionary().size(), Files.size(file), file);
        if (problem != null)
            throw new IncompleteFileException(file + ": its index " + index + " does not match it: " + problem
                    + " (stale: rebuild it with samtools index " + file + ")");
    }

    private static String baiProblem(ByteBuffer b, int references, long fileSize, Path file) throws IOException {
        List<long[]> spans = new java.util.ArrayList<>(); // per reference: {ref, first record, end of last}
        String p = baiLayoutProblem(b, references, fileSize, spans);
        if (p != null) return p;
        // Each reference's first record (the pseudo-bin's start offset) must be a record of that reference,
        // and its end offset must exist: a rewritten file puts other bytes there.
        try (BlockCompressedInputStream in = new BlockCompressedInputStream(new htsjdk.samtools.seekablestream.SeekableFileStream(file.toFile()))) {
            for (long[] s : spans) {
                in.seek(s[1]);
                ByteBuffer rec = ByteBuffer.wrap(in.readNBytes(8)).order(ByteOrder.LITTLE_ENDIAN);
                if (rec.remaining() < 8 || rec.getInt(4) != s[0])
                    return "its first record of reference " + s[0] + " is not one at the offset the index gives";
                in.seek(s[2]);
            }
        } catch (IOException | RuntimeException e) {
            return "an offset it gives is not in the file (" + e.getMessage() + ")";
        }
        return null;
    }

    private static String baiLayoutProblem(ByteBuffer b, int references, long fileSize, List<long[]> spans) {
        try {
            if (b.remaining() < 8 || b.get() != 'B' || b.get() != 'A' || b.get() != 'I' || b.get() != 1) return "not a BAI file";
            int nRef = b.getInt();
            if (nRef != references) return "it indexes " + nRef + " references, the header has " + references;
            for (int r = 0; r < nRef; r++) {
                int nBin = b.getInt();
                for (int i = 0; i < nBin; i++) {
                    int bin = b.getInt(), nChunk = b.getInt();
                    for (int c = 0; c < nChunk; c++) {
                        long beg = b.getLong(), end = b.getLong();
                        // a pseudo-bin (37450) holds counts, not offsets
                        if (bin != 37450 && ((beg >>> 16) > fileSize || (end >>> 16) > fileSize))
                            return "a chunk points past the end of the file";
                        if (bin == 37450 && c == 0) spans.add(new long[]{r, beg, end});
                    }
                }
                int nIntv = b.getInt();
                for (int i = 0; i < nIntv; i++) if ((b.getLong() >>> 16) > fileSize) return "a linear-index offset points past the end of the file";
            }
            return null;
        } catch (java.nio.BufferUnderflowException e) {
            return "the index is truncated";
        }
    }

    /** The index HTSJDK's SamReaderFactory finds beside file (x.bam.bai, x.bai, x.bam.csi, x.cram.crai). */
    static Path indexOf(Path file) {
        String name = file.getFileName().toString();
        String stem = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
        for (String candidate : new String[]{name + ".bai", stem + ".bai", name + ".csi", name + ".crai", stem + ".crai"}) {
            Path p = file.resolveSibling(candidate);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }
}
