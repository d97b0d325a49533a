package org.ssmtk.genomics.io;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * SAM text as it passes to HTSJDK's reader: the header lines as written, and each record's line, so
 * that the header and the order of a record's tags can be kept literally (HTSJDK's parsed forms lose
 * both). The reader reads ahead, so record lines queue here until taken, one per record, in order;
 * only the read-ahead is held.
 */
public final class SamLineTap extends FilterInputStream {
    private final StringBuilder header = new StringBuilder();
    private final ArrayDeque<String> records = new ArrayDeque<>();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private boolean inHeader = true;

    public SamLineTap(InputStream in) {
        super(in);
    }

    @Override
    public boolean markSupported() {
        return false; // a reset would replay bytes into the lines already taken
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b < 0) endOfLine();
        else take(b);
        return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        if (n < 0) endOfLine();
        for (int i = 0; i < n; i++) take(buf[off + i]);
        return n;
    }

    private void take(int b) {
        if (b == '\n') endOfLine();
        else line.write(b);
    }

    private void endOfLine() {
        if (line.size() == 0) return;
        String s = line.toString(StandardCharsets.UTF_8);
        if (s.endsWith("\r")) s = s.substring(0, s.length() - 1);
        line.reset();
        if (inHeader && s.startsWith("@")) header.append(s).append('\n');
        else {
            inHeader = false;
            records.add(s);
        }
    }

    /** The header lines read so far (all of them once the reader has opened the file). */
    public String headerText() {
        return header.toString();
    }

    /** The line of the record the reader returned next, or null if none is queued. */
    public String nextRecordLine() {
        return records.poll();
    }
}
