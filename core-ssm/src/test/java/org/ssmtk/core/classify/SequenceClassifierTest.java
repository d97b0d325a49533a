package org.ssmtk.core.classify;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;

import java.util.List;
import java.util.Random;

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

    private static int[] ids(Random r, int n) {
        int[] x = new int[n];
        for (int i = 0; i < n; i++) x[i] = r.nextInt(16);
        return x;
    }
}
