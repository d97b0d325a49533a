package org.ssmtk.genomics.sample;

import org.ssmtk.genomics.io.BedIntervals;
import org.ssmtk.genomics.io.DnaSequence;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits every contig into a training part and a held-out tail: the last {@code fraction} of
 * each contig. Holding out the tail of every contig (rather than whole contigs) keeps the
 * evaluation meaningful on references with a single record, and contiguous tails keep training
 * windows from overlapping held-out bases.
 */
public record HeldOutSplit(List<Region> train, List<Region> heldOut) {
    public static HeldOutSplit tails(List<DnaSequence> contigs, double fraction) {
        return tails(contigs, fraction, null);
    }

    /**
     * As {@link #tails(List, double)}, with the training part cut down to {@code intervals} (null:
     * no restriction). The held-out tails stay whole, so the evaluation does not depend on the
     * BED and a BED never moves held-out bases into training. Bases under overlapping intervals are drawn as often as they are covered:
     * merge the BED first (bedtools merge) if that is not wanted.
     */
    public static HeldOutSplit tails(List<DnaSequence> contigs, double fraction, List<BedIntervals.Interval> intervals) {
        HeldOutSplit whole = wholeTails(contigs, fraction);
        if (intervals == null) return whole;
        return new HeldOutSplit(intersect(whole.train(), intervals), whole.heldOut());
    }

    private static List<Region> intersect(List<Region> regions, List<BedIntervals.Interval> intervals) {
        List<Region> out = new ArrayList<>();
        for (BedIntervals.Interval iv : intervals)
            for (Region r : regions) {
                if (!r.contig().equals(iv.contig())) continue;
                long s = Math.max(r.start(), iv.start()), e = Math.min(r.end(), iv.end());
                if (s < e) out.add(new Region(r.contig(), r.ids(), (int) s, (int) e));
            }
        return List.copyOf(out);
    }

    private static HeldOutSplit wholeTails(List<DnaSequence> contigs, double fraction) {
        if (!(fraction >= 0 && fraction < 1)) throw new IllegalArgumentException("held-out fraction must be in [0, 1), got " + fraction);
        List<Region> train = new ArrayList<>(), held = new ArrayList<>();
        for (DnaSequence s : contigs) {
            byte[] ids = DnaVocabulary.encode(s.bases());
            int cut = ids.length - (int) Math.round(ids.length * fraction);
            if (cut > 0) train.add(new Region(s.name(), ids, 0, cut));
            if (cut < ids.length) held.add(new Region(s.name(), ids, cut, ids.length));
        }
        return new HeldOutSplit(List.copyOf(train), List.copyOf(held));
    }

    /**
     * The last {@code fraction} of every region held out, the rest for training: for labelled
     * inputs that are regions already (BED intervals, labelled records), cut as contigs are.
     */
    public static HeldOutSplit regionTails(List<Region> regions, double fraction) {
        if (!(fraction >= 0 && fraction < 1)) throw new IllegalArgumentException("held-out fraction must be in [0, 1), got " + fraction);
        List<Region> train = new ArrayList<>(), held = new ArrayList<>();
        for (Region r : regions) {
            int cut = r.end() - (int) Math.round(r.length() * fraction);
            if (cut > r.start()) train.add(new Region(r.contig(), r.ids(), r.start(), cut));
            if (cut < r.end()) held.add(new Region(r.contig(), r.ids(), cut, r.end()));
        }
        return new HeldOutSplit(List.copyOf(train), List.copyOf(held));
    }

    public static long bases(List<Region> regions) {
        return regions.stream().mapToLong(Region::length).sum();
    }
}
