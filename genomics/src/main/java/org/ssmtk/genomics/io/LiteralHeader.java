package org.ssmtk.genomics.io;

import htsjdk.samtools.BAMFileWriter;
import htsjdk.samtools.CRAMContainerStreamWriter;
import htsjdk.samtools.SAMFileHeader;
import htsjdk.samtools.SAMFileWriter;
import htsjdk.samtools.SAMProgramRecord;
import htsjdk.samtools.SAMRecord;
import htsjdk.samtools.SAMTextHeaderCodec;
import htsjdk.samtools.cram.build.CramIO;
import htsjdk.samtools.cram.common.CRAMVersion;
import htsjdk.samtools.cram.common.CramVersions;
import htsjdk.samtools.cram.ref.ReferenceSource;
import htsjdk.samtools.cram.structure.CompressorCache;
import htsjdk.samtools.cram.structure.ContainerHeader;
import htsjdk.samtools.cram.structure.CramHeader;
import htsjdk.samtools.cram.structure.block.Block;
import htsjdk.samtools.util.BlockCompressedInputStream;
import htsjdk.samtools.util.BlockCompressedOutputStream;
import htsjdk.samtools.util.ProgressLoggerInterface;

import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A SAM header as its file wrote it, and BAM/CRAM writers that write it so. HTSJDK re-encodes a header
 * from its parsed form: @HD's VN becomes 1.6, lines are regrouped (@HD, @SQ, @RG, @PG, @CO) and
 * their fields reordered. A tool that only adds a @PG line keeps the rest literally, as samtools does.
 */
public final class LiteralHeader {
    private LiteralHeader() {}

    /** The header text of a BAM or CRAM file, as stored (trailing NUL padding dropped). */
    public static String read(Path file) throws IOException {
        byte[] magic;
        try (InputStream in = Files.newInputStream(file)) {
            magic = in.readNBytes(4);
        }
        if (new String(magic, StandardCharsets.ISO_8859_1).equals("CRAM")) return readCram(file);
        try (DataInputStream in = new DataInputStream(new BlockCompressedInputStream(file.toFile()))) {
            byte[] bam = new byte[4];
            in.readFully(bam);
            if (bam[0] != 'B' || bam[1] != 'A' || bam[2] != 'M' || bam[3] != 1) throw new IOException(file + ": not a BAM file (no BAM magic)");
            byte[] len = new byte[4];
            in.readFully(len);
            byte[] text = new byte[ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getInt()];
            in.readFully(text);
            return trimNul(text);
        }
    }

    private static String readCram(Path file) throws IOException {
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file))) {
            CRAMVersion version = CramIO.readCramHeader(in).getCRAMVersion();
            ContainerHeader header = new ContainerHeader(version, in);
            Block block;
            if (version.compatibleWith(CramVersions.CRAM_v3)) {
                byte[] blocks = in.readNBytes(header.getContainerBlocksByteSize());
                block = Block.read(version, new ByteArrayInputStream(blocks));
            } else {
                block = Block.read(version, in);
            }
            ByteBuffer content = ByteBuffer.wrap(block.getUncompressedContent(new CompressorCache())).order(ByteOrder.LITTLE_ENDIAN);
            byte[] text = new byte[content.getInt()];
            content.get(text);
            return trimNul(text);
        }
    }

    private static String trimNul(byte[] text) {
        int n = text.length;
        while (n > 0 && text[n - 1] == 0) n--;
        return new String(text, 0, n, StandardCharsets.UTF_8);
    }

    /** text with the @PG line of {@code pg} appended (as HTSJDK would format that one line). */
    public static String withProgramLine(String text, SAMProgramRecord pg) {
        SAMFileHeader one = new SAMFileHeader();
        one.addProgramRecord(pg);
        StringWriter w = new StringWriter();
        new SAMTextHeaderCodec().encode(w, one, true);
        String line = w.toString().lines().filter(l -> l.startsWith("@PG")).findFirst().orElseThrow();
        return (text.isEmpty() || text.endsWith("\n") ? text : text + "\n") + line + "\n";
    }

    /** A BAM writer (records in the order given) whose header text is {@code text}; header gives the references. */
    public static SAMFileWriter bamWriter(Path out, SAMFileHeader header, String text) {
        Bam w = new Bam(out, text);
        w.setSortOrder(header.getSortOrder(), true);
        w.setHeader(header);
        return w;
    }

    private static final class Bam extends BAMFileWriter {
        private final String text;

        Bam(Path out, String text) {
            super(out.toFile(), BlockCompressedOutputStream.getDefaultCompressionLevel());
            this.text = text;
        }

        @Override
        protected void writeHeader(SAMFileHeader header) {
            writeHeader(text);
        }
    }

    /** A CRAM 3 writer against {@code reference} whose header text is {@code text}; no index. */
    public static SAMFileWriter cramWriter(Path out, SAMFileHeader header, String text, Path reference) throws IOException {
        return new Cram(out, header, text, reference);
    }

    private static final class Cram implements SAMFileWriter {
        private final OutputStream os;
        private final SAMFileHeader header;
        private final CRAMContainerStreamWriter containers;

        Cram(Path out, SAMFileHeader header, String text, Path reference) throws IOException {
            this.header = header;
            this.os = new BufferedOutputStream(Files.newOutputStream(out));
            String id = out.getFileName().toString();
            CramHeader cramHeader = new CramHeader(CramVersions.DEFAULT_CRAM_VERSION, id);
            CramIO.writeCramHeader(cramHeader, os);
            // the header container as HTSJDK's writeSAMFileHeaderContainer builds it, from our text
            byte[] body = text.getBytes(StandardCharsets.UTF_8);
            ByteBuffer l = ByteBuffer.allocate(4 + body.length).order(ByteOrder.LITTLE_ENDIAN).putInt(body.length).put(body);
            Block block = Block.createGZIPFileHeaderBlock(l.array());
            ByteArrayOutputStream blocks = new ByteArrayOutputStream();
            block.write(cramHeader.getCRAMVersion(), blocks);
            ContainerHeader.makeSAMFileHeaderContainer(blocks.size()).write(cramHeader.getCRAMVersion(), os);
            blocks.writeTo(os);
            this.containers = new CRAMContainerStreamWriter(os, new ReferenceSource(reference), header, id, null);
        }

        @Override
        public void addAlignment(SAMRecord r) {
            r.setHeaderStrict(header);
            containers.writeAlignment(r);
        }

        @Override
        public SAMFileHeader getFileHeader() {
            return header;
        }

        @Override
        public void setProgressLogger(ProgressLoggerInterface progress) { }

        @Override
        public void close() {
            containers.finish(true);
            try {
                os.close();
            } catch (IOException e) {
                throw new htsjdk.samtools.util.RuntimeIOException(e);
            }
        }
    }
}
