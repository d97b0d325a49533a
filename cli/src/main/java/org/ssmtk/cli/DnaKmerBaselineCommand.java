package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.train.Batch;
import org.ssmtk.genomics.baseline.KmerFeatures;
import org.ssmtk.genomics.baseline.MarkovClassifier;
import org.ssmtk.core.eval.SoftmaxRegression;
import org.ssmtk.core.eval.ClassificationMetrics;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.genomics.classify.DnaClassifierData;
import org.ssmtk.genomics.sample.Region;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;


/**
 * {@code ssmtk dna kmer-baseline}: logistic regression on k-mer frequencies, trained and evaluated on
 * exactly the windows {@code dna train-classifier} would use with the same inputs and options, so
 * the two eval.json files compare like with like.
 */
final class DnaKmerBaselineCommand implements Command {
    static final int WINDOWS_PER_DRAW = 256;

    public String name() { return "kmer-baseline"; }

    public String summary() { return "k-mer composition baselines for dna train-classifier (softmax regression or Markov chains), on the same windows, to OUT/eval.json"; }

    public String footer() {
        return DnaLabeledInputs.HELP
                + "Takes train-classifier's inputs and --seq-len, --holdout, --eval-windows, --seed, --proportional:\n"
                + "the held-out windows it scores are exactly those train-classifier scores, and its\n"
                + "--train-windows training windows come from the same sampler. A window's features are its\n"
                + "strand-symmetric k-mer frequencies (a k-mer and its reverse complement counted together, k-mers\n"
                + "with N skipped, scaled so a uniform sequence gives 1); a softmax regression (weights + bias,\n"
                + "L2 --l2) is fitted by full-batch Adam for --iterations.\n"
                + "--method markov instead fits one Markov chain of order --order per class on both strands of all of\n"
                + "the class's training bases (add-one smoothed) and calls a window for the class whose chain gives\n"
                + "it the highest likelihood: evidence that adds up with the window's length.\n"
                + "Writes OUT/" + DnaCommands.EVAL + " in train-classifier's format (plus \"method\").\n\n"
                + "example: ssmtk dna kmer-baseline --class human=h.fa --class worm=w.fa --out base1 --k 6\n"
                + "         ssmtk dna kmer-baseline --class human=h.fa --class worm=w.fa --out base2 --method markov --order 8";
    }

    static final Opt<Path> OUT = Opt.output("out", "DIR", "where eval.json goes (created; must not hold an eval.json yet)").required();
    static final Opt<Integer> K = Opt.positiveInt("k", "K", "k-mer length, 1..10 (6: 4,096 features)").check(v -> v <= 10, "must be at most 10 (4^k features)")
            .byDefault(6);
    static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "bases per window").check(v -> v >= 2, "must be at least 2").byDefault(1024);
    static final Opt<Double> HOLDOUT = Opt.number("holdout", "F", "fraction at the end of every region held out for evaluation")
            .check(v -> v >= 0 && v < 1, "must be in [0, 1)").byDefault(0.1);
    static final Opt<Integer> TRAIN_WINDOWS = Opt.positiveInt("train-windows", "N", "random training windows").byDefault(4096);
    static final Opt<Integer> ITERATIONS = Opt.positiveInt("iterations", "N", "full-batch Adam iterations").byDefault(300);
    static final Opt<Double> LR = Opt.number("lr", "X", "Adam learning rate").check(v -> v > 0, "must be positive").byDefault(0.05);
    static final Opt<Double> L2 = Opt.number("l2", "X", "L2 weight penalty").check(v -> v >= 0, "must be >= 0").byDefault(1e-4);
    static final Opt<Long> SEED = Opt.longInt("seed", "N", "sampling seed (as train-classifier's)").byDefault(0L);
    static final Opt<String> METHOD = Opt.choice("method", "softmax regression on --k-mer frequencies, or per-class Markov chains of --order",
            "softmax", "markov").byDefault("softmax");
    static final Opt<Integer> ORDER = Opt.integer("order", "N", "--method markov: the chains' order, 0.." + MarkovClassifier.MAX_ORDER)
            .check(v -> v >= 0 && v <= MarkovClassifier.MAX_ORDER, "must be in 0.." + MarkovClassifier.MAX_ORDER).byDefault(5);

    public List<Opt<?>> options() {
        return Opt.list(OUT, METHOD, K, ORDER, SEQ_LEN, HOLDOUT, DnaClassifierCommands.TrainClassifier.EVAL_WINDOWS, TRAIN_WINDOWS, ITERATIONS, LR, L2, SEED,
                DnaClassifierCommands.TrainClassifier.PROPORTIONAL, DnaLabeledInputs.OPTIONS);
    }

    public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
        Path outDir = OUT.get(cl);
        boolean markov = METHOD.get(cl).equals("markov");
        int order = ORDER.get(cl); // checked here, before any input is read
        int k = K.get(cl);
        int seqLen = SEQ_LEN.get(cl);
        double holdout = HOLDOUT.get(cl);
        int evalWindows = DnaClassifierCommands.TrainClassifier.EVAL_WINDOWS.get(cl);
        int trainWindows = TRAIN_WINDOWS.get(cl);
        int iterations = ITERATIONS.get(cl);
        double lr = LR.get(cl), l2 = L2.get(cl);
        long seed = SEED.get(cl);
        boolean balanced = !DnaClassifierCommands.TrainClassifier.PROPORTIONAL.get(cl);
        Path evalFile = outDir.resolve(DnaCommands.EVAL);
        if (Files.exists(evalFile)) throw new UsageException(evalFile + " exists already; give a new --out");

        DnaLabeledInputs inputs = DnaLabeledInputs.read(cl);
        List<String> names = inputs.names();
        List<List<Region>> train = new ArrayList<>(), held = new ArrayList<>();
        ObjectNode run = new ObjectMapper().createObjectNode();
        DnaClassifierCommands.splitAndDescribe(inputs, holdout, run, train, held, err, "dna kmer-baseline");
        // train-classifier's data without reverse-strand reads: the same windows it draws and scores
        DnaClassifierData data = new DnaClassifierData(names, train, held, false, balanced);
        if (markov) return markov(data, names, train, order, seqLen, evalWindows, holdout, seed, run, outDir, out);
        BatchSource sampler = ClassifierCommands.trainingWindows(data, seqLen, WINDOWS_PER_DRAW, seed);
        KmerFeatures features = new KmerFeatures(k);
        List<SoftmaxRegression.Features> x = new ArrayList<>(trainWindows);
        int[] y = new int[trainWindows];
        for (long step = 0; x.size() < trainWindows; step++) {
            Batch b = sampler.batch(step, 0);
            for (int row = 0; row < b.batch() && x.size() < trainWindows; row++) {
                y[x.size()] = b.targets()[row];
                x.add(features.of(b.ids(), row * seqLen, seqLen));
            }
        }
        long t0 = System.nanoTime();
        int report = Math.max(1, iterations / 10);
        SoftmaxRegression model = SoftmaxRegression.fit(x, y, names.size(), features.dimensions(), iterations, lr, l2, (it, loss) -> {
            if (it % report == 0 || it == iterations)
                err.printf(Locale.ROOT, "ssmtk dna kmer-baseline: iteration %d loss %.4f%n", it, loss);
        });
        double seconds = (System.nanoTime() - t0) / 1e9;

        org.ssmtk.core.classify.ClassifierData.Examples scored = data.heldOut(seqLen, evalWindows);
        List<int[]> windows = scored.sequences();
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("method", k + "-mer frequencies (both strands), softmax regression").put("k", k).put("seq_len", seqLen)
                .put("train_windows", trainWindows).put("iterations", iterations).put("lr", lr).put("l2", l2).put("seed", seed)
                .put("holdout", holdout)
                .put("scored", scored.scored());
        n.setAll(run);
        ClassificationMetrics m = null;
        if (!windows.isEmpty()) {
            double[][] p = new double[windows.size()][];
            for (int i = 0; i < p.length; i++) p[i] = model.probabilities(features.of(windows.get(i)));
            m = ClassificationMetrics.of(names, scored.truth(), p);
            n.setAll(m.toJson());
        }
        Files.createDirectories(outDir);
        AtomicFiles.write(evalFile, o -> new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(o, n));
        String heldOut = m == null ? "no held-out windows (--holdout 0 or tails shorter than --seq-len)"
                : String.format(Locale.ROOT, "held-out accuracy %.4f (%d windows)%s", m.accuracy(), m.total(),
                Double.isNaN(m.rocAuc()) ? "" : String.format(Locale.ROOT, ", ROC-AUC %.4f", m.rocAuc()));
        out.printf(Locale.ROOT, "%d-mer baseline: %d classes, %d training windows of %d, %d iterations in %.1f s  %s  -> %s%n", k, names.size(),
                trainWindows, seqLen, iterations, seconds, heldOut, evalFile);
        return 0;
    }

    /** --method markov: per-class chains fitted on every training base, scored on train-classifier's held-out windows. */
    private static int markov(DnaClassifierData data, List<String> names, List<List<Region>> train, int order, int seqLen, int evalWindows,
                              double holdout, long seed, ObjectNode run, Path outDir, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        MarkovClassifier model = MarkovClassifier.fit(train, order);
        double seconds = (System.nanoTime() - t0) / 1e9;
        org.ssmtk.core.classify.ClassifierData.Examples scored = data.heldOut(seqLen, evalWindows);
        List<int[]> windows = scored.sequences();
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("method", "order-" + order + " Markov chain per class (both strands), maximum likelihood").put("order", order)
                .put("seq_len", seqLen).put("seed", seed).put("holdout", holdout).put("scored", scored.scored());
        n.setAll(run);
        ClassificationMetrics m = null;
        if (!windows.isEmpty()) {
            double[][] p = new double[windows.size()][];
            for (int i = 0; i < p.length; i++) p[i] = model.probabilities(windows.get(i));
            m = ClassificationMetrics.of(names, scored.truth(), p);
            n.setAll(m.toJson());
        }
        Files.createDirectories(outDir);
        Path evalFile = outDir.resolve(DnaCommands.EVAL);
        AtomicFiles.write(evalFile, o -> new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(o, n));
        out.printf(Locale.ROOT, "order-%d Markov baseline: %d classes, fitted in %.1f s  %s  -> %s%n", order, names.size(), seconds,
                describe(m), evalFile);
        return 0;
    }

    private static String describe(ClassificationMetrics m) {
        return m == null ? "no held-out windows (--holdout 0 or tails shorter than --seq-len)"
                : String.format(Locale.ROOT, "held-out accuracy %.4f (%d windows)%s", m.accuracy(), m.total(),
                Double.isNaN(m.rocAuc()) ? "" : String.format(Locale.ROOT, ", ROC-AUC %.4f", m.rocAuc()));
    }
}
