package org.ssmtk.genomics.variant;

/**
 * The reference bases a variant is scored in, 0-based half-open on its contig: {@code width} bases
 * around the variant's first REF base, shifted inwards at the contig ends so that the window keeps
 * its width wherever the contig is long enough (issue #14's rule):
 * start = max(0, pos0 - width/2), end = min(length, start + width), then start = max(0, end - width).
 */
public record VariantWindow(long start, long end) {
    public static VariantWindow around(long pos0, long contigLength, int width) {
        if (width < 1) throw new IllegalArgumentException("window width must be >= 1, got " + width);
        if (pos0 < 0 || pos0 >= contigLength)
            throw new IllegalArgumentException("position " + pos0 + " outside a contig of " + contigLength + " bases");
        long start = Math.max(0, pos0 - width / 2);
        long end = Math.min(contigLength, start + width);
        start = Math.max(0, end - width);
        return new VariantWindow(start, end);
    }

    public int length() {
        return (int) (end - start);
    }

    /** True when REF ({@code refLength} bases from pos0) lies wholly inside the window. */
    public boolean holds(long pos0, int refLength) {
        return pos0 >= start && pos0 + refLength <= end;
    }

    /**
     * The ALT window: {@code window}'s ids with the {@code refLength} ids at {@code offset} replaced
     * by {@code alt} (so an indel changes the length).
     */
    public static byte[] substitute(byte[] window, int offset, int refLength, byte[] alt) {
        byte[] out = new byte[window.length - refLength + alt.length];
        System.arraycopy(window, 0, out, 0, offset);
        System.arraycopy(alt, 0, out, offset, alt.length);
        System.arraycopy(window, offset + refLength, out, offset + alt.length, window.length - offset - refLength);
        return out;
    }
}
