package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.train.Batch;
import org.ssmtk.genomics.baseline.KmerFeatures;
import org.ssmtk.core.eval.SoftmaxRegression;
import org.ssmtk.core.eval.ClassificationMetrics;
import org.ssmtk.genomics.sample.LabeledWindowSampler;
import org.ssmtk.genomics.sample.Region;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.ssmtk.cli.CommonOptions.requiredOutput;
import static org.ssmtk.cli.CommonOptions.flag;
import static org.ssmtk.cli.CommonOptions.optional;
import static org.ssmtk.cli.CommonOptions.required;

/**
 * {@code ssmtk dna kmer-baseline}: logistic regression on k-mer frequencies, trained and evaluated on
 * exactly the windows {@code dna train-classifier} would use with the same inputs and options, so
 * the two eval.json files compare like with like.
 */
final class DnaKmerBaselineCommand implements Command {
    static final int WINDOWS_PER_DRAW = 256;

    public String name() { return "kmer-baseline"; }

    public String summary() { return "a k-mer logistic-regression baseline for dna train-classifier, on the same windows, to OUT/eval.json"; }

    public String footer() {
        return DnaLabeledInputs.HELP
                + "Takes train-classifier's inputs and --seq-len, --holdout, --eval-windows, --seed, --proportional:\n"
                + "the held-out windows it scores are exactly those train-classifier scores, and its\n"
                + "--train-windows training windows come from the same sampler. A window's features are its\n"
                + "strand-symmetric k-mer frequencies (a k-mer and its reverse complement counted together, k-mers\n"
                + "with N skipped, scaled so a uniform sequence gives 1); a softmax regression (weights + bias,\n"
                + "L2 --l2) is fitted by full-batch Adam for --iterations.\n"
                + "Writes OUT/" + DnaCommands.EVAL + " in train-classifier's format (plus \"method\").\n\n"
                + "example: ssmtk dna kmer-baseline --class human=h.fa --class worm=w.fa --out base1 --k 6";
    }

    public Options options() {
        Options o = new Options()
                .addOption(requiredOutput("out", "DIR", "where eval.json goes (created; must not hold an eval.json yet)"))
                .addOption(optional("k", "K", "k-mer length, 1..10 (default 6: 4,096 features)"))
                .addOption(optional("seq-len", "L", "bases per window (default 1024)"))
                .addOption(optional("holdout", "F", "fraction at the end of every region held out for evaluation (default 0.1)"))
                .addOption(optional("eval-windows", "N", "at most this many held-out windows per class are classified (default 256)"))
                .addOption(optional("train-windows", "N", "random training windows (default 4096)"))
                .addOption(optional("iterations", "N", "full-batch Adam iterations (default 300)"))
                .addOption(optional("lr", "X", "Adam learning rate (default 0.05)"))
                .addOption(optional("l2", "X", "L2 weight penalty (default 1e-4)"))
                .addOption(optional("seed", "N", "sampling seed (default 0, as train-classifier)"))
                .addOption(flag("proportional", "draw classes in proportion to their bases instead of uniformly"));
        return DnaLabeledInputs.with(o, true);
    }

    public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
        Path outDir = Path.of(cl.getOptionValue("out"));
        int k = CommonOptions.positiveInt(cl, "k", 6);
        if (k > 10) throw new UsageException("--k must be at most 10 (4^k features), got " + k);
        int seqLen = CommonOptions.positiveInt(cl, "seq-len", 1024);
        if (seqLen < 2) throw new UsageException("--seq-len must be at least 2");
        double holdout = CommonOptions.number(cl, "holdout", 0.1);
        if (!(holdout >= 0 && holdout < 1)) throw new UsageException("--holdout must be in [0, 1), got " + holdout);
        int evalWindows = CommonOptions.positiveInt(cl, "eval-windows", 256);
        int trainWindows = CommonOptions.positiveInt(cl, "train-windows", 4096);
        int iterations = CommonOptions.positiveInt(cl, "iterations", 300);
        double lr = CommonOptions.number(cl, "lr", 0.05), l2 = CommonOptions.number(cl, "l2", 1e-4);
        if (!(lr > 0)) throw new UsageException("--lr must be positive, got " + lr);
        if (!(l2 >= 0)) throw new UsageException("--l2 must be >= 0, got " + l2);
        long seed = CommonOptions.longValue(cl, "seed", 0);
        boolean balanced = !cl.hasOption("proportional");
        Path evalFile = outDir.resolve(DnaCommands.EVAL);
        if (Files.exists(evalFile)) throw new UsageException(evalFile + " exists already; give a new --out");

        DnaLabeledInputs inputs = DnaLabeledInputs.read(cl);
        List<String> names = inputs.names();
        List<List<Region>> train = new ArrayList<>(), held = new ArrayList<>();
        ObjectNode run = new ObjectMapper().createObjectNode();
        DnaClassifierCommands.splitAndDescribe(inputs, holdout, run, train, held, err, "dna kmer-baseline");
        LabeledWindowSampler sampler;
        try {
            sampler = LabeledWindowSampler.of(train, seqLen, WINDOWS_PER_DRAW, seed, false, balanced);
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            for (int c = 0; c < names.size(); c++)
                if (m.startsWith("class " + c + ": ")) m = "class " + names.get(c) + ": " + m.substring(("class " + c + ": ").length());
            throw new UsageException(m + "; lower --seq-len or --holdout");
        }
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

        List<Integer> truth = new ArrayList<>();
        List<int[]> windows = DnaClassifierCommands.heldOutWindows(held, seqLen, evalWindows, truth);
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("method", k + "-mer frequencies (both strands), softmax regression").put("k", k).put("seq_len", seqLen)
                .put("train_windows", trainWindows).put("iterations", iterations).put("lr", lr).put("l2", l2).put("seed", seed)
                .put("holdout", holdout)
                .put("scored", "non-overlapping --seq-len windows tiling the last holdout fraction of every region of every class");
        n.setAll(run);
        ClassificationMetrics m = null;
        if (!windows.isEmpty()) {
            double[][] p = new double[windows.size()][];
            for (int i = 0; i < p.length; i++) p[i] = model.probabilities(features.of(windows.get(i)));
            m = ClassificationMetrics.of(names, truth.stream().mapToInt(Integer::intValue).toArray(), p);
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
}
