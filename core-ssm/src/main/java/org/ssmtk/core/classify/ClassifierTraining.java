package org.ssmtk.core.classify;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.eval.ClassificationMetrics;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.Trainer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The one train-then-evaluate flow of a sequence classifier, for every domain ({@link ClassifierData}
 * says what the sequences are): start from a fresh model or a pretrained one with a fresh head, train
 * on labelled windows, write the model with its class names, score the held-out examples and write
 * {@code eval.json}.
 */
public final class ClassifierTraining {
    public static final String EVAL = "eval.json";

    private ClassifierTraining() {}

    /**
     * The starting point: {@code pretrained}'s weights plus a fresh head when it is given, else a
     * fresh model of {@code config} with a head; both seeded as a from-scratch model with this seed.
     */
    public static MambaCheckpoint start(MambaCheckpoint pretrained, MambaConfig config, int classes, String pooling, long seed) {
        return pretrained != null ? ClassifierHead.attach(pretrained, classes, pooling, seed)
                : Initializer.reference(config.withClassifier(classes, pooling), seed);
    }

    /** Trains the classification objective on {@code windows} (from {@link ClassifierData#trainingWindows}). */
    public static Trainer.Result train(MambaModel model, BatchSource windows, Trainer.Options options, Trainer.Listener listener)
            throws IOException {
        return Trainer.train(model, windows, Objective.sequenceClassification(), options, listener);
    }

    /** The same, data-parallel over replicas (see {@link Trainer#train(org.ssmtk.core.train.Replicas, BatchSource, Objective, Trainer.Options, Trainer.Listener)}). */
    public static Trainer.Result train(org.ssmtk.core.train.Replicas replicas, BatchSource windows, Trainer.Options options,
                                       Trainer.Listener listener) throws IOException {
        return Trainer.train(replicas, windows, Objective.sequenceClassification(), options, listener);
    }

    /**
     * After training: writes {@code out/model}'s domain files and labels.json, scores the held-out
     * examples and writes {@code out/eval.json} as {@code header} (the run's inputs, in the domain's
     * words) followed by step, what was scored and the metrics.
     */
    public static Scored finish(MambaModel model, ClassifierData data, int seqLen, int batch, int perClass, Path out, long step,
                                               ObjectNode header) throws IOException {
        Path modelDir = out.resolve(Trainer.MODEL);
        data.describeModel(modelDir, seqLen);
        new ClassLabels(data.classes(), seqLen).write(modelDir);
        ClassifierData.Examples examples = data.heldOut(seqLen, perClass);
        ClassificationMetrics m = examples.sequences().isEmpty() ? null : ClassificationMetrics.of(data.classes(), examples.truth(),
                SequenceClassifier.meanOverWindows(model, examples.sequences(), seqLen, batch, null));
        ObjectNode n = header.deepCopy();
        n.put("step", step).put("scored", examples.scored());
        if (m != null) n.setAll(m.toJson());
        AtomicFiles.write(out.resolve(EVAL), o -> o.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(n)));
        return new Scored(m, examples.unit());
    }

    /** The held-out metrics (null when there was nothing to score) and what the examples were ("windows", "test clips"). */
    public record Scored(ClassificationMetrics metrics, String unit) {}
}
