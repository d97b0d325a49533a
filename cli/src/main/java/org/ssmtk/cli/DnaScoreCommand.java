package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.io.BedIntervals;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.score.LikelihoodScorer;
import org.ssmtk.genomics.score.ScoreShard;
import org.ssmtk.genomics.score.WindowMeans;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;


/** {@code ssmtk dna score}: per-base log-likelihood of a DNA language model, streamed, to bedGraph. */
final class DnaScoreCommand implements Command {
    public String name() { return "score"; }

    public String summary() { return "per-window log-likelihood of a DNA language model over a FASTA (or BED regions), to bedGraph"; }

    public String footer() {
        return "Score of a base: log2 p(base | the bases before it in the same interval), in bits (0 = certain,\n"
                + "-2 = a uniform guess over A/C/G/T), under a model from dna pretrain. Intervals are whole contigs, or\n"
                + "the --regions BED intervals (overlapping ones merged); each is streamed from its start in chunks\n"
                + "of --chunk bases through the model's recurrent state, so memory stays constant however long the\n"
                + "contig (with a .fai the FASTA is read chunk by chunk too) and the scores equal one full forward.\n"
                + "Not scored: the first base of each interval (no context) and N/IUPAC bases, which are still fed to\n"
                + "the model so later bases keep their context. Each bedGraph line is the mean over the scored bases\n"
                + "of one --window (windows start at the interval start, the last one may be shorter); a window\n"
                + "with no scored base is left out. Lines are 0-based half-open, contigs in FASTA order, positions\n"
                + "ascending. The file appears only when complete (temporary file, then rename).\n"
                + "Scattered runs (workflow export --scatter): --shard CONTIG:START-END (0-based half-open) writes only\n"
                + "the windows starting inside it, each interval still streamed from its start so the values equal an\n"
                + "unsplit run's byte for byte; concatenating the shards' lines in order (one track line) gives its file.\n\n"
                + "example: ssmtk dna score --model run1/model --fasta ref.fa --output scores.bedGraph --window 100";
    }

    static final Opt<Path> MODEL = Opt.input("model", "DIR", "a DNA language model from dna pretrain").existingDir().required();
    static final Opt<Path> FASTA = Opt.input("fasta", "FILE", "reference FASTA (.fa, .fa.gz; with .fai read chunk by chunk)").required();
    static final Opt<Path> OUTPUT = Opt.output("output", "BEDGRAPH", "where the scores go").required();
    static final Opt<Path> REGIONS = Opt.input("regions", "BED", "score only these intervals");
    static final Opt<Integer> WINDOW = Opt.positiveInt("window", "W", "bases averaged per bedGraph line; 1 = per base").byDefault(100);
    static final Opt<Integer> CHUNK = Opt.positiveInt("chunk", "C", "bases per forward pass through the recurrent state").byDefault(4096);
    static final Opt<String> NAME = Opt.string("name", "NAME", "track name").defaultIs("the model directory's name");
    static final Opt<Integer> SKIP_AFTER_N = Opt.integer("skip-after-n", "K", "leave the K bases after each N unscored (fed, not scored):"
            + " a model that never saw N scores the base after a gap far lower than any other").check(v -> v >= 0, "must be >= 0").byDefault(0);

    static final Opt<String> SHARD = Opt.string("shard", "CONTIG:START-END", "write only the windows starting in this range (a scattered job's part)");

    public List<Opt<?>> options() {
        return Opt.list(MODEL, FASTA, OUTPUT, REGIONS, WINDOW, CHUNK, NAME, SKIP_AFTER_N, SHARD, CommonOptions.INFERENCE);
    }

    public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
        Path dir = MODEL.get(cl);
        Path fasta = FASTA.get(cl);
        Path output = OUTPUT.get(cl);
        int window = WINDOW.get(cl);
        int chunk = CHUNK.get(cl), skipAfterN = SKIP_AFTER_N.get(cl);
        DnaCommands.refuseCaduceus(dir, "score");
        if (!DnaVocabulary.check(dir))
            throw new UsageException(dir + ": has no " + DnaVocabulary.FILE + "; score a model trained on DNA (ssmtk dna pretrain)");
        MambaConfig config = MambaConfig.read(dir.resolve(MambaCheckpoint.CONFIG));
        if (config.vocabSize() < DnaVocabulary.SIZE)
            throw new UsageException(dir + ": a vocabulary of " + config.vocabSize() + " ids; the DNA vocabulary needs " + DnaVocabulary.SIZE);
        CommonOptions.checkShape(config, "one sequence", 1, "--chunk", chunk, true);
        Path absolute = dir.toAbsolutePath().normalize();
        String name = NAME.get(cl, absolute.getFileName() == null ? "ssmtk" : absolute.getFileName().toString());
        if (name.contains("\"") || name.contains("\n")) throw new UsageException("--name may not hold quotes or newlines");
        ScoreShard shard;
        try {
            shard = SHARD.given(cl) ? ScoreShard.parse(SHARD.get(cl)) : null;
        } catch (IllegalArgumentException e) {
            throw new UsageException("--shard: " + e.getMessage());
        }
        MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);

        long t0, fed = 0, scored = 0, afterN = 0;
        try (FastaReference ref = FastaReference.open(fasta)) {
            List<FastaReference.Contig> contigs = ref.contigs();
            if (shard != null && contigs.stream().noneMatch(c -> c.name().equals(shard.contig())))
                throw new UsageException("--shard " + shard + ": " + fasta + " has no contig '" + shard.contig() + "'");
            List<BedIntervals.Interval> intervals = REGIONS.given(cl) ? regions(REGIONS.get(cl), contigs, fasta)
                    : contigs.stream().filter(c -> c.length() > 0).map(c -> new BedIntervals.Interval(c.name(), 0, c.length())).toList();
            long total = intervals.stream().mapToLong(BedIntervals.Interval::length).sum();
            err.printf(Locale.ROOT, "ssmtk dna score: %s: %d intervals, %,d bases; window %d, chunk %d%n", fasta, intervals.size(), total, window, chunk);
            long[] counts = new long[3];
            t0 = System.nanoTime();
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, checkpoint);
                LikelihoodScorer scorer = new LikelihoodScorer(model, chunk, skipAfterN);
                AtomicFiles.write(output, o -> {
                    Writer w = new OutputStreamWriter(o, StandardCharsets.UTF_8);
                    w.write("track type=bedGraph name=\"" + name + "\" description=\"" + name
                            + ": mean log2 p(base | preceding bases), bits per base; first base of each interval and N not scored\"\n");
                    for (BedIntervals.Interval iv : intervals) {
                        long feed = shard == null ? iv.length() : shard.feed(iv.contig(), iv.start(), iv.end(), window, chunk);
                        if (feed == 0) continue;
                        WindowMeans means = new WindowMeans(iv.start(), iv.end(), window, (s, e, mean, n) -> {
                            if (shard == null || shard.owns(iv.contig(), s))
                                w.write(iv.contig() + "\t" + s + "\t" + e + "\t" + String.format(Locale.ROOT, "%.6f", mean) + "\n");
                        });
                        counts[1] += scorer.score((from, to) -> DnaVocabulary.encode(ref.subsequence(iv.contig(), iv.start() + from, iv.start() + to).bases()),
                                feed, means);
                        means.finish();
                        counts[0] += feed;
                    }
                    w.flush();
                });
                counts[2] = scorer.scoredRightAfterN();
            }
            fed = counts[0];
            scored = counts[1];
            afterN = counts[2];
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        err.printf(Locale.ROOT, "ssmtk dna score: %,d bases (%,d scored) in %.2f s: %,.0f bases/s -> %s%n", fed, scored, seconds,
                fed / Math.max(seconds, 1e-9), output);
        if (afterN > 0)
            err.printf(Locale.ROOT, "ssmtk dna score: warning: %,d scored bases directly follow an N (a gap); a model that never saw N in"
                    + " training scores them far lower than any other, so each gap shows as a dip: --skip-after-n K leaves K bases after"
                    + " each N unscored%n", afterN);
        return 0;
    }

    /** BED intervals checked against the FASTA, in FASTA order, overlapping ones merged so bedGraph lines never overlap. */
    static List<BedIntervals.Interval> regions(Path bed, List<FastaReference.Contig> contigs, Path fasta) throws java.io.IOException {
        Map<String, Long> lengths = new LinkedHashMap<>();
        Map<String, Integer> order = new HashMap<>();
        for (FastaReference.Contig c : contigs) {
            lengths.put(c.name(), c.length());
            order.put(c.name(), order.size());
        }
        List<BedIntervals.Interval> sorted = new ArrayList<>(BedIntervals.read(bed, lengths, fasta));
        sorted.sort(Comparator.comparingInt((BedIntervals.Interval i) -> order.get(i.contig())).thenComparingLong(BedIntervals.Interval::start));
        List<BedIntervals.Interval> merged = new ArrayList<>();
        for (BedIntervals.Interval i : sorted) {
            BedIntervals.Interval last = merged.isEmpty() ? null : merged.getLast();
            if (last != null && last.contig().equals(i.contig()) && i.start() < last.end())
                merged.set(merged.size() - 1, new BedIntervals.Interval(last.contig(), last.start(), Math.max(last.end(), i.end())));
            else merged.add(i);
        }
        return merged;
    }
}
