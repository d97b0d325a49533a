package org.ssmtk.genomics.sample;

/**
 * Token ids of a stretch {@code [start, end)} of a contig. Regions of one contig share its id
 * array, so splitting a genome into training and held-out parts copies nothing.
 */
public record Region(String contig, byte[] ids, int start, int end) {
    public Region {
        if (start < 0 || end < start || end > ids.length)
            throw new IllegalArgumentException("region [" + start + ", " + end + ") outside " + contig + " of " + ids.length);
    }

    public int length() {
        return end - start;
    }
}
