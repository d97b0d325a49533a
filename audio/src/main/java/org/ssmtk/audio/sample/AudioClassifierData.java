package org.ssmtk.audio.sample;

import org.ssmtk.audio.AudioSettings;
import org.ssmtk.core.classify.ClassifierData;
import org.ssmtk.core.classify.SequenceClassifier;
import org.ssmtk.core.train.BatchSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Quantized audio for core's classifier flow: per class, training clips and held-out file tails, or
 * instead of the tails a labelled test set scored whole. Training windows come from
 * {@link LabeledClipWindows} (balanced classes).
 *
 * @param test       clips scored whole instead of the tails (null: score the tails)
 * @param testTruth  their classes
 * @param testScored what eval.json says the test clips are
 */
public record AudioClassifierData(List<String> classes, List<List<int[]>> train, List<List<int[]>> held, AudioSettings settings,
                                  List<int[]> test, int[] testTruth, String testScored) implements ClassifierData {
    public AudioClassifierData {
        classes = List.copyOf(classes);
        if (train.size() != classes.size() || held.size() != classes.size())
            throw new IllegalArgumentException(classes.size() + " classes, " + train.size() + " training and " + held.size() + " held-out clip lists");
    }

    @Override
    public BatchSource trainingWindows(int seqLen, int batch, long seed) {
        return LabeledClipWindows.of(train, seqLen, batch, seed);
    }

    @Override
    public Examples heldOut(int seqLen, int perClass) {
        if (test != null) return new Examples(test, testTruth, testScored, "test clips");
        List<int[]> windows = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        for (int c = 0; c < held.size(); c++) {
            List<int[]> all = new ArrayList<>();
            for (int[] clip : held.get(c))
                for (int s = 0; s + seqLen <= clip.length; s += seqLen) all.add(Arrays.copyOfRange(clip, s, s + seqLen));
            List<int[]> w = SequenceClassifier.spread(all, perClass);
            windows.addAll(w);
            for (int i = 0; i < w.size(); i++) truth.add(c);
        }
        return new Examples(windows, truth.stream().mapToInt(Integer::intValue).toArray(),
                "non-overlapping --seq-len windows tiling the last holdout fraction of every file of every class", "windows");
    }

    @Override
    public void describeModel(Path modelDir, int seqLen) throws IOException {
        settings.write(modelDir);
    }
}
