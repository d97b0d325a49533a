package org.ssmtk.genomics.io;

import java.nio.file.Path;

/**
 * Brings FASTA bytes to the five letters the models know. Lower case is soft-masking (repeats),
 * not a different base, so it is upper-cased; IUPAC ambiguity codes say "one of several bases",
 * which the character vocabulary can only call N. Anything else (digits, gaps, '*', RNA's U) means
 * the file is not a DNA FASTA and must be rejected rather than silently become N.
 */
final class Bases {
    private Bases() {}

    private static final byte INVALID = 0;
    private static final byte[] UPPER = new byte[256];
    private static final int KIND_ACGT = 1, KIND_N = 2, KIND_IUPAC = 3;
    private static final byte[] KIND = new byte[256];

    static {
        for (char c : "ACGT".toCharArray()) set(c, c, KIND_ACGT);
        set('N', 'N', KIND_N);
        for (char c : "RYSWKMBDHV".toCharArray()) set(c, 'N', KIND_IUPAC);
    }

    private static void set(char c, char to, int kind) {
        UPPER[c] = (byte) to;
        UPPER[Character.toLowerCase(c)] = (byte) to;
        KIND[c] = (byte) kind;
        KIND[Character.toLowerCase(c)] = (byte) kind;
    }

    /**
     * Normalizes {@code raw} in place and counts what it found.
     *
     * @param offset 0-based position of raw[0] in the contig, for the error message
     */
    static BaseCounts normalize(Path file, String contig, long offset, byte[] raw) throws FastaException {
        long acgt = 0, n = 0, iupac = 0, masked = 0;
        for (int i = 0; i < raw.length; i++) {
            int b = raw[i] & 0xff;
            byte up = UPPER[b];
            if (up == INVALID) throw new FastaException(file, "contig '" + contig + "' position " + (offset + i + 1) + ": "
                    + describe(b) + " is not a nucleotide (A, C, G, T, N or an IUPAC code)");
            if (b >= 'a') masked++;
            switch (KIND[b]) {
                case KIND_ACGT -> acgt++;
                case KIND_N -> n++;
                default -> iupac++;
            }
            raw[i] = up;
        }
        return new BaseCounts(acgt, n, iupac, masked);
    }

    private static String describe(int b) {
        return b >= 0x20 && b < 0x7f ? "'" + (char) b + "'" : String.format("byte 0x%02x", b);
    }
}
