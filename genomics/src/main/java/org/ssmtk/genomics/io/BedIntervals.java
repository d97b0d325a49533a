package org.ssmtk.genomics.io;

import htsjdk.tribble.bed.BEDCodec;
import htsjdk.tribble.bed.BEDFeature;
import htsjdk.samtools.util.IOUtil;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * BED intervals checked against a reference. Lines are decoded by HTSJDK's BED codec one at a
 * time, so that an error can name the line; contigs missing from the reference and intervals
 * that run past a contig's end are errors, not silently dropped, since they usually mean the BED
 * belongs to another assembly.
 */
public final class BedIntervals {
    private BedIntervals() {}

    /** A 0-based, half-open interval, as BED writes it. */
    public record Interval(String contig, long start, long end) {
        public long length() {
            return end - start;
        }
    }

    /**
     * @param contigLengths the reference's contigs, name to length
     */
    public static List<Interval> read(Path bed, Map<String, Long> contigLengths, Path reference) throws IOException {
        return parse(bed, contigLengths, reference, 0).stream().map(Labeled::interval).toList();
    }

    /** An interval and the class label a column of its BED line gives it. */
    public record Labeled(Interval interval, String label) {}

    /**
     * Intervals with a label from column {@code labelColumn} (1-based; BED's name column is 4), as
     * {@link #read} checks them; a line without that column, or with an empty one, is an error.
     */
    public static List<Labeled> readLabeled(Path bed, Map<String, Long> contigLengths, Path reference, int labelColumn) throws IOException {
        if (labelColumn < 4) throw new IllegalArgumentException("the label column must be 4 or later (1-based), got " + labelColumn);
        return parse(bed, contigLengths, reference, labelColumn);
    }

    private static List<Labeled> parse(Path bed, Map<String, Long> contigLengths, Path reference, int labelColumn) throws IOException {
        if (!Files.isRegularFile(bed)) throw new FastaException(bed, Files.exists(bed) ? "not a regular file" : "no such file");
        BEDCodec codec = new BEDCodec(BEDCodec.StartOffset.ZERO);
        List<Labeled> out = new ArrayList<>();
        try (BufferedReader in = IOUtil.openFileForBufferedReading(bed)) {
            int lineNo = 0;
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank() || line.startsWith("#") || line.startsWith("track") || line.startsWith("browser")) continue;
                BEDFeature f;
                try {
                    f = codec.decode(line);
                } catch (RuntimeException e) {
                    throw new FastaException(bed, "line " + lineNo + ": not a BED line (" + e.getMessage() + ")", e);
                }
                if (f == null || line.split("\t").length < 3)
                    throw new FastaException(bed, "line " + lineNo + ": a BED line needs tab-separated contig, start and end");
                String contig = f.getContig();
                long start = f.getStart(), end = f.getEnd();
                Long length = contigLengths.get(contig);
                if (length == null) throw new FastaException(bed, "line " + lineNo + ": contig '" + contig + "' is not in " + reference);
                if (start < 0 || end <= start)
                    throw new FastaException(bed, "line " + lineNo + ": empty or reversed interval " + contig + ":" + start + "-" + end);
                if (end > length)
                    throw new FastaException(bed, "line " + lineNo + ": " + contig + ":" + start + "-" + end + " runs past the contig's end ("
                            + length + " bases in " + reference + ")");
                String label = null;
                if (labelColumn > 0) {
                    String[] cols = line.split("\t");
                    if (cols.length < labelColumn || cols[labelColumn - 1].isBlank())
                        throw new FastaException(bed, "line " + lineNo + ": no label in column " + labelColumn + " (" + cols.length + " columns)");
                    label = cols[labelColumn - 1].trim();
                }
                out.add(new Labeled(new Interval(contig, start, end), label));
            }
        }
        if (out.isEmpty()) throw new FastaException(bed, "no intervals");
        return out;
    }
}
