package org.ssmtk.genomics.io;

/**
 * What normalization did to a stretch of FASTA: how many bases were A/C/G/T, already N, an IUPAC
 * ambiguity code turned into N, and soft-masked (lower case, upper-cased). Users ask for this
 * because an assembly full of ambiguity codes trains a very different model from a clean one.
 */
public record BaseCounts(long acgt, long n, long iupac, long softMasked) {
    public static final BaseCounts ZERO = new BaseCounts(0, 0, 0, 0);

    /** All bases: A/C/G/T, N and IUPAC codes (which became N). */
    public long total() {
        return acgt + n + iupac;
    }

    public BaseCounts plus(BaseCounts o) {
        return new BaseCounts(acgt + o.acgt, n + o.n, iupac + o.iupac, softMasked + o.softMasked);
    }
}
