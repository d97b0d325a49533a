package org.ssmtk.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.classify.ClassifierData;
import org.ssmtk.core.classify.ClassifierTraining;
import org.ssmtk.core.eval.ClassificationMetrics;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.Trainer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The command-line side of core's one classifier flow ({@link ClassifierTraining}), shared by
 * {@code dna train-classifier} and {@code audio train-classifier}: those read their inputs into a
 * {@link ClassifierData}; this opens the backend, trains with progress on stderr, scores, plots and
 * prints the summary line.
 */
final class ClassifierCommands {
    private ClassifierCommands() {}

    /**
     * The data's training windows; a class too short for them is the user's to fix, named (the
     * samplers say "class C: " with C the index).
     */
    static BatchSource trainingWindows(ClassifierData data, int seqLen, int batch, long seed) throws UsageException {
        try {
            return data.trainingWindows(seqLen, batch, seed);
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            List<String> names = data.classes();
            for (int c = 0; c < names.size(); c++)
                if (m.startsWith("class " + c + ": ")) m = "class " + names.get(c) + ": " + m.substring(("class " + c + ": ").length());
            throw new UsageException(m + "; lower --seq-len or --holdout");
        }
    }

    /** Everything a run needs that the command has parsed and read. */
    record Run(String command, MambaCheckpoint start, ClassifierData data, BatchSource windows, TrainCommands.OptimizerOptions opt,
               TrainCommands.RunDirectory dir, ObjectNode options, int seqLen, int evalWindows, ObjectNode evalHeader) {}

    /** Trains, writes OUT/model and OUT/eval.json through core's flow, draws OUT/loss.png and prints the summary line. */
    static int train(Run r, CommandLine cl, PrintStream out, PrintStream err) throws Exception {
        Path outDir = r.dir().out();
        try (org.ssmtk.core.device.TrainingDevices devices = CommonOptions.trainingDevices(cl, err, r.opt().gpus());
             TrainingProgress progress = new TrainingProgress(err, r.command(), r.opt().logEvery())) {
            org.ssmtk.core.train.Replicas replicas = devices.load(r.start(), r.opt()::prepare);
            MambaModel model = replicas.lead();
            Trainer.Result t = ClassifierTraining.train(replicas, r.windows(),
                    r.opt().trainer(outDir, r.dir().checkpointEvery(), r.dir().keep(), r.dir().resume(), r.options()), progress);
            progress.close();
            ClassifierTraining.Scored scored = ClassifierTraining.finish(model, r.data(), r.seqLen(), r.opt().batch(), r.evalWindows(), outDir,
                    t.lastStep(), r.evalHeader());
            ClassificationMetrics m = scored.metrics();
            Path png = TrainCommands.plotLoss(outDir, "ssmtk " + r.command() + ": " + outDir.getFileName(), err);
            String heldOut = m == null ? "no held-out windows (--holdout 0 or tails shorter than --seq-len)"
                    : String.format(Locale.ROOT, "held-out accuracy %.4f (%d %s)%s", m.accuracy(), m.total(), scored.unit(),
                    Double.isNaN(m.rocAuc()) ? "" : String.format(Locale.ROOT, ", ROC-AUC %.4f", m.rocAuc()));
            out.printf(Locale.ROOT, "steps %d..%d  final loss %.4f  %s  model %s  curve %s%n", t.firstStep(), t.lastStep(), t.finalLoss(),
                    heldOut, outDir.resolve(Trainer.MODEL), png);
        }
        return 0;
    }
}
