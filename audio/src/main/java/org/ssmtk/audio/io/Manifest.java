package org.ssmtk.audio.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A TSV list of clips: {@code path [label [start end]]}, one clip a line. Paths are relative to the
 * manifest's folder (or absolute); start and end are seconds into the file (either may be empty or
 * {@code -}: from the start / to the end). Lines starting with {@code #} and blank lines are skipped;
 * a first line whose first column is {@code path} is a header. Every problem is an IOException
 * starting with {@code FILE:LINE:}, so a one-line CLI error points at the line to fix.
 */
public record Manifest(Path file, List<Entry> entries) {

    /** One clip; {@code label} is null when the line has none, start/end are NaN when not given. */
    public record Entry(Path path, String label, double start, double end, String where) {
        public boolean segment() {
            return !Double.isNaN(start) || !Double.isNaN(end);
        }

        /** The clip's name in outputs: the path, plus {@code :START-END} (seconds) for a segment. */
        public String id() {
            if (!segment()) return path.toString();
            return path + ":" + (Double.isNaN(start) ? "" : fmt(start)) + "-" + (Double.isNaN(end) ? "" : fmt(end));
        }

        private static String fmt(double s) {
            return String.format(Locale.ROOT, "%.6g", s).replaceAll("\\.?0+$", "");
        }
    }

    public static Manifest read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new java.nio.file.NoSuchFileException(file + ": no such manifest file");
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        Path base = file.toAbsolutePath().getParent();
        List<Entry> out = new ArrayList<>();
        boolean first = true;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.endsWith("\r")) line = line.substring(0, line.length() - 1);
            String where = file + ":" + (i + 1);
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] cols = line.split("\t", -1);
            if (first) {
                first = false;
                if (cols[0].trim().equalsIgnoreCase("path")) continue;
            }
            if (cols.length > 4) throw new ManifestException(where, "has " + cols.length + " columns; expected path, label, start, end (tab-separated)");
            String p = cols[0].trim();
            if (p.isEmpty()) throw new ManifestException(where, "empty path");
            Path path = Path.of(p);
            if (!path.isAbsolute()) path = base.resolve(path).normalize();
            if (!Files.isRegularFile(path)) throw new ManifestException(where, "no such file " + path);
            String label = cols.length > 1 && !cols[1].trim().isEmpty() ? cols[1].trim() : null;
            double start = cols.length > 2 ? seconds(cols[2], where, "start") : Double.NaN;
            double end = cols.length > 3 ? seconds(cols[3], where, "end") : Double.NaN;
            if (!Double.isNaN(start) && !Double.isNaN(end) && end <= start)
                throw new ManifestException(where, "end " + cols[3].trim() + " is not after start " + cols[2].trim());
            out.add(new Entry(path, label, start, end, where));
        }
        if (out.isEmpty()) throw new ManifestException(file.toString(), "no clips in this manifest");
        return new Manifest(file, List.copyOf(out));
    }

    private static double seconds(String s, String where, String what) throws ManifestException {
        s = s.trim();
        if (s.isEmpty() || s.equals("-")) return Double.NaN;
        double v;
        try {
            v = Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new ManifestException(where, what + " '" + s + "' is not a number of seconds");
        }
        if (!(v >= 0) || Double.isInfinite(v)) throw new ManifestException(where, what + " " + s + " must be a finite number of seconds >= 0");
        return v;
    }

    /** Every entry must have a label (classifiers); the error names the first line without one. */
    public Manifest requireLabels() throws ManifestException {
        for (Entry e : entries)
            if (e.label() == null) throw new ManifestException(e.where(), "no label (second column); a classifier needs one on every line");
        return this;
    }

    /** Labels in order of first appearance. */
    public List<String> labels() {
        return entries.stream().map(Entry::label).filter(java.util.Objects::nonNull).distinct().toList();
    }

    /** A manifest problem; the message starts with FILE:LINE. */
    public static final class ManifestException extends IOException {
        public ManifestException(String where, String problem) {
            super(where + ": " + problem);
        }
    }
}
