package org.ssmtk.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.genomics.io.BedIntervals;
import org.ssmtk.genomics.io.DnaSequence;
import org.ssmtk.genomics.io.FastaException;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.io.RecordLabels;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;


/**
 * Labelled DNA in the three forms people have it: one FASTA per class ({@code --class NAME=FASTA}),
 * one FASTA plus a TSV of record id to label ({@code --fasta F --labels TSV}), or BED intervals with a
 * label column over a reference ({@code --reference F --labeled-bed BED [--label-column 4]}). Each
 * becomes, per class, the regions of sequence it labels; classes are in option order for
 * {@code --class} and in order of first appearance otherwise.
 */
record DnaLabeledInputs(List<String> names, List<List<Region>> regions, String form, Map<String, String> sources) {
    static final String NAME_PATTERN = "[A-Za-z0-9_.+-]+";
    static final String BY_CLASS = "one FASTA per class";

    static final Opt<String> CLASS = Opt.labeledInput("class", "NAME=FASTA", "a class and its FASTA; repeat for every class");
    static final Opt<Path> FASTA = Opt.input("fasta", "FILE", "sequences whose record ids --labels labels").existingFile();
    static final Opt<Path> LABELS = Opt.input("labels", "TSV_FILE", "record id<TAB>label for every record of --fasta").existingFile();
    static final Opt<Path> REFERENCE = Opt.input("reference", "FASTA", "the reference --labeled-bed's intervals lie on").existingFile();
    static final Opt<Path> LABELED_BED = Opt.input("labeled-bed", "BED", "intervals with a class label in --label-column").existingFile();
    static final Opt<Integer> LABEL_COLUMN = Opt.integer("label-column", "N", "1-based BED column holding the label (4: the name column)")
            .check(v -> v >= 4, "must be 4 or more (columns 1-3 are contig, start, end)").byDefault(4);

    /** The options of the three forms. */
    static final List<Opt<?>> OPTIONS = List.of(CLASS, FASTA, LABELS, REFERENCE, LABELED_BED, LABEL_COLUMN);

    static final String HELP = "Labelled input, one of: --class NAME=FASTA (repeated, one FASTA per class);\n"
            + "--fasta FILE --labels TSV (record id<TAB>label for every record; optional 'id<TAB>label' header);\n"
            + "--reference FASTA --labeled-bed BED (0-based intervals, the label in --label-column, default 4).\n"
            + "Ids or contigs not in the FASTA, records without a label, lines without a label column and\n"
            + "overlapping intervals of two classes are errors.\n";

    static DnaLabeledInputs read(CommandLine cl) throws IOException, UsageException {
        boolean byClass = CLASS.given(cl), byTsv = LABELS.given(cl), byBed = LABELED_BED.given(cl);
        if ((byClass ? 1 : 0) + (byTsv ? 1 : 0) + (byBed ? 1 : 0) != 1)
            throw new UsageException("give the labelled input as exactly one of --class NAME=FASTA (repeated), --fasta F --labels TSV, "
                    + "--reference F --labeled-bed BED");
        if (byClass) return byClass(DnaClassifierCommands.classes(CLASS.all(cl)));
        if (byTsv) {
            if (!FASTA.given(cl)) throw new UsageException("--labels needs --fasta (the FASTA whose record ids it labels)");
            return byTsv(FASTA.get(cl), LABELS.get(cl));
        }
        if (!REFERENCE.given(cl)) throw new UsageException("--labeled-bed needs --reference (the FASTA its intervals lie on)");
        int column = LABEL_COLUMN.get(cl);
        return byBed(REFERENCE.get(cl), LABELED_BED.get(cl), column);
    }

    static DnaLabeledInputs byClass(Map<String, Path> classes) throws IOException {
        List<List<Region>> regions = new ArrayList<>();
        Map<String, String> sources = new LinkedHashMap<>();
        for (var e : classes.entrySet()) {
            List<Region> r = new ArrayList<>();
            try (FastaReference ref = FastaReference.open(e.getValue())) {
                for (DnaSequence s : ref.readAll()) r.add(whole(s));
            }
            regions.add(r);
            sources.put(e.getKey(), e.getValue().toAbsolutePath().normalize().toString());
        }
        return new DnaLabeledInputs(List.copyOf(classes.keySet()), regions, BY_CLASS, sources);
    }

    static DnaLabeledInputs byTsv(Path fasta, Path tsv) throws IOException, UsageException {
        Map<String, String> labels = RecordLabels.read(tsv);
        List<DnaSequence> records;
        try (FastaReference ref = FastaReference.open(fasta)) {
            records = ref.readAll();
        }
        Map<String, DnaSequence> byName = new HashMap<>();
        for (DnaSequence s : records) byName.put(s.name(), s);
        for (String id : labels.keySet())
            if (!byName.containsKey(id)) throw new FastaException(tsv, "record id '" + id + "' is not in " + fasta);
        Map<String, List<Region>> classes = new LinkedHashMap<>();
        for (String label : labels.values()) classes.computeIfAbsent(checkName(tsv, label), k -> new ArrayList<>());
        for (DnaSequence s : records) {
            String label = labels.get(s.name());
            if (label == null) throw new FastaException(fasta, "record '" + s.name() + "' has no label in " + tsv);
            classes.get(label).add(whole(s));
        }
        Map<String, String> sources = new LinkedHashMap<>();
        sources.put("fasta", fasta.toAbsolutePath().normalize().toString());
        sources.put("labels", tsv.toAbsolutePath().normalize().toString());
        return of(classes, "FASTA + record labels", sources, tsv);
    }

    static DnaLabeledInputs byBed(Path reference, Path bed, int column) throws IOException, UsageException {
        Map<String, List<Region>> classes = new LinkedHashMap<>();
        try (FastaReference ref = FastaReference.open(reference)) {
            Map<String, Long> lengths = new LinkedHashMap<>();
            for (FastaReference.Contig c : ref.contigs()) lengths.put(c.name(), c.length());
            Map<String, byte[]> ids = new HashMap<>();
            List<BedIntervals.Labeled> labeled = BedIntervals.readLabeled(bed, lengths, reference, column);
            refuseOverlapsBetweenClasses(bed, labeled);
            for (BedIntervals.Labeled l : labeled) {
                BedIntervals.Interval iv = l.interval();
                byte[] contig = ids.get(iv.contig());
                if (contig == null) ids.put(iv.contig(), contig = DnaVocabulary.encode(ref.sequence(iv.contig()).bases()));
                classes.computeIfAbsent(checkName(bed, l.label()), k -> new ArrayList<>())
                        .add(new Region(iv.contig(), contig, (int) iv.start(), (int) iv.end()));
            }
        }
        Map<String, String> sources = new LinkedHashMap<>();
        sources.put("reference", reference.toAbsolutePath().normalize().toString());
        sources.put("labeled_bed", bed.toAbsolutePath().normalize().toString());
        return of(classes, "BED intervals with labels (column " + column + ")", sources, bed);
    }

    /** Bases under intervals of two classes would teach both labels for one sequence: an error, naming both intervals. */
    static void refuseOverlapsBetweenClasses(Path bed, List<BedIntervals.Labeled> labeled) throws FastaException {
        List<BedIntervals.Labeled> sorted = new ArrayList<>(labeled);
        sorted.sort(java.util.Comparator.comparing((BedIntervals.Labeled l) -> l.interval().contig()).thenComparingLong(l -> l.interval().start()));
        Map<String, BedIntervals.Labeled> reach = new HashMap<>(); // per label: the interval reaching furthest so far, per contig
        String contig = null;
        for (BedIntervals.Labeled l : sorted) {
            if (!l.interval().contig().equals(contig)) {
                reach.clear();
                contig = l.interval().contig();
            }
            for (var e : reach.entrySet())
                if (!e.getKey().equals(l.label()) && e.getValue().interval().end() > l.interval().start())
                    throw new FastaException(bed, "intervals of two classes overlap: " + describe(e.getValue()) + " and " + describe(l));
            BedIntervals.Labeled prev = reach.get(l.label());
            if (prev == null || prev.interval().end() < l.interval().end()) reach.put(l.label(), l);
        }
    }

    private static String describe(BedIntervals.Labeled l) {
        return l.interval().contig() + ":" + l.interval().start() + "-" + l.interval().end() + " (" + l.label() + ")";
    }

    private static DnaLabeledInputs of(Map<String, List<Region>> classes, String form, Map<String, String> sources, Path labelFile)
            throws UsageException {
        if (classes.size() < 2)
            throw new UsageException(labelFile + ": a classifier needs at least 2 classes, the labels name " + classes.size() + " ("
                    + String.join(", ", classes.keySet()) + ")");
        return new DnaLabeledInputs(List.copyOf(classes.keySet()), List.copyOf(classes.values()), form, sources);
    }

    private static String checkName(Path file, String label) throws FastaException {
        if (!label.matches(NAME_PATTERN))
            throw new FastaException(file, "label '" + label + "' may hold only letters, digits and _ . + - (it becomes a TSV column)");
        return label;
    }

    private static Region whole(DnaSequence s) {
        byte[] ids = DnaVocabulary.encode(s.bases());
        return new Region(s.name(), ids, 0, ids.length);
    }

    /** For a run's JSON record: the form and its files. */
    void describe(ObjectNode node) {
        node.put("input_form", form);
        ObjectNode files = node.putObject("inputs");
        sources.forEach(files::put);
    }

    long bases(int c) {
        return regions.get(c).stream().mapToLong(Region::length).sum();
    }
}
