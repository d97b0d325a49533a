package org.ssmtk.core.bench;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Forward throughput and memory of the full causal LM (backbone and LM head) at growing lengths,
 * batch 1, random weights, on any backend (each timed forward ends with a row read back, so a GPU's
 * queued work is inside the time; the heap figures are the JVM's, not the device's). Logits are computed into one reused block of rows, as a scorer would,
 * so the head does not dominate memory at long lengths.
 */
public final class ForwardBench {
    /** One measured forward. */
    public record Row(String model, long parameters, int length, double seconds, double tokensPerSecond,
                      long peakHeapBytes, long modelBytes, long activationBytes) {}

    public static final int LOGIT_BLOCK = 2048;

    private ForwardBench() {}

    public static List<Row> run(Backend backend, String presetName, int[] lengths, Consumer<String> progress) {
        MambaConfig config = Presets.get(presetName);
        gc();
        long before = heapUsed();
        MambaModel model = MambaModel.load(backend, Initializer.reference(config, 1));
        gc();
        long modelBytes = heapUsed() - before;
        long parameters = org.ssmtk.core.nn.ParameterSpec.count(config);
        progress.accept("warming up " + presetName);
        // until C2 has compiled the kernels: at least 3 s and 4 forwards at L = 1024
        long warmStart = System.nanoTime();
        for (int i = 0; i < 4 || System.nanoTime() - warmStart < 3_000_000_000L; i++) forward(model, 1024, i);
        List<Row> rows = new ArrayList<>();
        for (int len : lengths) {
            progress.accept(presetName + ": L = " + len);
            gc();
            resetPeaks();
            long t0 = System.nanoTime();
            forward(model, len, 2);
            double s = (System.nanoTime() - t0) / 1e9;
            rows.add(new Row(presetName, parameters, len, s, len / s, peakHeap(), modelBytes, model.forwardBytesPerToken() * len));
        }
        return rows;
    }

    private static void forward(MambaModel model, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[len];
        for (int i = 0; i < len; i++) ids[i] = r.nextInt(model.config().vocabSize());
        Tensor hidden = model.backbone(ids, 1, len, null, null);
        Tensor block = model.backend().allocate(Math.min(len, LOGIT_BLOCK), model.config().paddedVocabSize());
        for (int from = 0; from < len; from += LOGIT_BLOCK) {
            int to = Math.min(len, from + LOGIT_BLOCK);
            model.logits(hidden.rows(from, to), block.rows(0, to - from));
        }
        // a backend that queues (cuda) has finished the forward once a result is back on the host
        model.backend().toHost(block.rows(0, 1));
    }

    private static void gc() {
        System.gc();
        System.gc();
    }

    private static long heapUsed() {
        long n = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
            if (p.getType() == MemoryType.HEAP) n += p.getUsage().getUsed();
        return n;
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
            if (p.getType() == MemoryType.HEAP) p.resetPeakUsage();
    }

    /** Sum of per-pool peaks since the reset: an upper bound on the true peak. */
    private static long peakHeap() {
        long n = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
            if (p.getType() == MemoryType.HEAP) n += p.getPeakUsage().getUsed();
        return n;
    }
}
