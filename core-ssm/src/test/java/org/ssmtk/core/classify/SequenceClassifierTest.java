package org.ssmtk.core.classify;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class SequenceClassifierTest {
    /**
     * readOut's probabilities are meanOverWindows' and its embeddings are the mean over a sequence's
     * windows of the pooled hidden state (norm_f's output averaged over positions), recomputed here
     * from one backbone call per window.
     */
    @Test
    void readOutIsTheHeadInputAveragedOverWindows() {
        MambaConfig config = MambaConfig.of(16, 16, 4, 2).withClassifier(3, MambaConfig.POOL_MEAN);
        Random r = new Random(4);
        List<int[]> seqs = List.of(ids(r, 5), ids(r, 12), ids(r, 8), ids(r, 21));
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(config, 3));
            double[][] p = SequenceClassifier.meanOverWindows(model, seqs, 8, 3, null);
            SequenceClassifier.Readout out = SequenceClassifier.readOut(model, seqs, 8, 3);
            for (int i = 0; i < seqs.size(); i++) {
                int[] s = seqs.get(i);
                for (int c = 0; c < 3; c++) assertEquals(p[i][c], out.probabilities()[i][c], 1e-6, "probability " + i + "," + c);
                double[] want = new double[16];
                int windows = 0;
                int len = Math.min(8, s.length);
                for (int from = 0; ; from += len) {
                    int start = Math.min(from, s.length - len);
                    float[] hidden = cpu.toHost(model.backbone(java.util.Arrays.copyOfRange(s, start, start + len), 1, len, null, null));
                    for (int t = 0; t < len; t++) for (int j = 0; j < 16; j++) want[j] += hidden[t * 16 + j] / len;
                    windows++;
                    if (start + len >= s.length) break;
                }
                for (int j = 0; j < 16; j++) assertEquals(want[j] / windows, out.embeddings()[i][j], 1e-5, "embedding " + i + "," + j);
            }
        }
    }

    /**
     * Issue 18: a window's probabilities are the same bits whatever shares its forward pass, so a
     * scattered classify-reads shard (fewer reads, other passes) reproduces the unsplit run. Without
     * the padding a pass of one short window (20 token rows) runs the CPU's dot-product matmul and a
     * pass of eight (160 rows) the broadcast one, which round differently; with --batch >= 64 the same
     * holds for the head, whose rows are the windows.
     */
    @Test
    void aWindowsProbabilitiesDoNotDependOnItsPassmates() {
        MambaConfig config = MambaConfig.of(16, 48, 4, 2).withClassifier(3, MambaConfig.POOL_MEAN);
        Random r = new Random(18);
        List<int[]> eight = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) eight.add(ids(r, 20));
        List<int[]> seventy = new java.util.ArrayList<>();
        for (int i = 0; i < 70; i++) seventy.add(ids(r, 3));
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(config, 5));
            double[][] together = SequenceClassifier.probabilities(model, eight, 16, null);
            for (int i = 0; i < eight.size(); i++) {
                double[] alone = SequenceClassifier.probabilities(model, List.of(eight.get(i)), 16, null)[0];
                assertArrayEquals(together[i], alone, "window " + i + " alone vs in a pass of 8 (bits, not a tolerance)");
            }
            double[][] full = SequenceClassifier.probabilities(model, seventy, 64, null);   // a pass of 64 windows, then one of 6
            for (int i : new int[]{0, 63, 64, 69}) {
                double[] alone = SequenceClassifier.probabilities(model, List.of(seventy.get(i)), 64, null)[0];
                assertArrayEquals(full[i], alone, "--batch 64: window " + i + " alone vs in its pass");
            }
        }
    }

    private static int[] ids(Random r, int n) {
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(16);
        return x;
    }
}
