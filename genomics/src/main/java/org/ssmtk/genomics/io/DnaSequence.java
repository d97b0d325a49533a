package org.ssmtk.genomics.io;

/**
 * Bases of one contig, or of a part of one, in upper-case A, C, G, T and N only, with what
 * normalization counted on the way.
 *
 * @param start 0-based offset of {@code bases[0]} in the contig
 */
public record DnaSequence(String name, long start, byte[] bases, BaseCounts counts) {
    public int length() {
        return bases.length;
    }
}
