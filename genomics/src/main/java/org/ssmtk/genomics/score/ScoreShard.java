package org.ssmtk.genomics.score;

/**
 * One job's part of a genome-wide {@code dna score} when it is scattered: the windows whose start
 * lies in {@code [start, end)} of {@code contig} (0-based half-open, as in BED).
 * <p>
 * Why "windows whose start", and why feed from the interval start: a window belongs to exactly one
 * shard however the shard edges fall, so the gathered bedGraph has every line once; and a recurrent
 * model's score at a base depends on every base before it in its interval, so the only way a job that
 * starts mid-contig reproduces the single job's values bit for bit is to stream the same bases through
 * the same chunk grid from the interval start (scores before the shard are computed and dropped). A
 * declared warm-up overlap would only approximate them. The cost: a shard ending at base E of an
 * interval runs the model over E - intervalStart bases, so splitting one contig into k shards costs
 * about (k + 1) / 2 single runs of CPU in all and the last shard takes as long as the unsplit job;
 * splitting by contig (or by BED interval) costs nothing extra.
 */
public record ScoreShard(String contig, long start, long end) {
    public ScoreShard {
        if (start < 0 || end <= start) throw new IllegalArgumentException("shard " + contig + ":" + start + "-" + end + ": need 0 <= START < END");
    }

    /** Parses {@code CONTIG:START-END} (0-based half-open; the contig name may itself hold ':'). */
    public static ScoreShard parse(String s) {
        int colon = s.lastIndexOf(':'), dash = colon < 0 ? -1 : s.indexOf('-', colon);
        if (colon <= 0 || dash < 0) throw new IllegalArgumentException("'" + s + "' is not CONTIG:START-END");
        try {
            return new ScoreShard(s.substring(0, colon), Long.parseLong(s.substring(colon + 1, dash)), Long.parseLong(s.substring(dash + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + s + "' is not CONTIG:START-END (START and END are whole numbers)");
        }
    }

    /** Whether this shard emits the window starting at {@code windowStart} of {@code chrom}. */
    public boolean owns(String chrom, long windowStart) {
        return contig.equals(chrom) && windowStart >= start && windowStart < end;
    }

    /**
     * How many bases of the interval {@code [ivStart, ivEnd)} of {@code chrom} to stream so that every
     * window this shard owns is complete, rounded up to the scorer's chunk grid so the last forward
     * pass has the same length as in an unsplit run (a pass over fewer rows could round differently);
     * 0 when the shard owns no window of it.
     */
    public long feed(String chrom, long ivStart, long ivEnd, int window, int chunk) {
        if (!contig.equals(chrom)) return 0;
        long from = Math.max(start, ivStart), to = Math.min(end, ivEnd);
        if (from >= to) return 0;
        long first = ivStart + ceilDiv(from - ivStart, window) * window;   // first window start >= from
        if (first >= to) return 0;
        long last = ivStart + (to - 1 - ivStart) / window * window;        // last window start < to
        long need = Math.min(ivEnd, last + window) - ivStart;
        return Math.min(ivEnd - ivStart, ceilDiv(need, chunk) * chunk);
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    @Override
    public String toString() {
        return contig + ":" + start + "-" + end;
    }
}
