package org.ssmtk.core.classify;

import org.ssmtk.core.train.BatchSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What a domain supplies to {@link ClassifierTraining}: its labelled sequences, already split into
 * training and held-out parts (DNA regions and contig tails, audio clips and file tails or a test
 * set), as token windows.
 */
public interface ClassifierData {
    /** Class names, in label order. */
    List<String> classes();

    /**
     * Training batches of {@code seqLen}-token windows, one class label per row, as a pure function
     * of (seed, step, micro) so resumed runs see the same batches. Throws IllegalArgumentException
     * starting "class C: " (C the class index) when a class holds no window that long.
     */
    BatchSource trainingWindows(int seqLen, int batch, long seed);

    /** The held-out sequences scored once training ends, at most {@code perClass} windows' worth per class. */
    Examples heldOut(int seqLen, int perClass);

    /**
     * Writes what the model needs beside its weights and labels.json to read this domain (the DNA
     * vocabulary, audio settings); {@code seqLen} is the training window length.
     */
    void describeModel(Path modelDir, int seqLen) throws IOException;

    /**
     * Sequences with their true class; each is classified whole, in windows of the training length
     * averaged ({@link SequenceClassifier#meanOverWindows}). {@code scored} says in eval.json what
     * they are, {@code unit} names them in the summary line ("windows", "test clips").
     */
    record Examples(List<int[]> sequences, int[] truth, String scored, String unit) {
        public Examples {
            if (sequences.size() != truth.length) throw new IllegalArgumentException(sequences.size() + " sequences, " + truth.length + " labels");
        }
    }
}
