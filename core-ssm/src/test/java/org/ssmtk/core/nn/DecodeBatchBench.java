package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Not a test: tokens/s of the CPU's fused decoding step at several batch sizes, and of a chunked
 * forward (what {@code dna score} runs) beside it, in one JVM, median of repeats after a warm-up.
 * <pre>
 *   java --add-modules jdk.incubator.vector -cp core-ssm/target/test-classes:core-ssm/target/classes:DEPS \
 *       org.ssmtk.core.nn.DecodeBatchBench dna fp32 2 1,4,16 [steps] [repeats] [prefill-len]
 * </pre>
 */
public final class DecodeBatchBench {
    public static void main(String[] args) {
        String preset = args[0];
        WeightFormat format = WeightFormat.valueOf(args[1].toUpperCase(Locale.ROOT));
        int threads = Integer.parseInt(args[2]);
        int[] batches = Arrays.stream(args[3].split(",")).mapToInt(Integer::parseInt).toArray();
        int steps = args.length > 4 ? Integer.parseInt(args[4]) : 64;
        int repeats = args.length > 5 ? Integer.parseInt(args[5]) : 3;
        int prefill = args.length > 6 ? Integer.parseInt(args[6]) : 0;
        MambaCheckpoint ckpt = Initializer.reference(Presets.get(preset), 1);
        int vocab = ckpt.config().paddedVocabSize(), real = ckpt.config().vocabSize();
        try (CpuBackend cpu = new CpuBackend(threads)) {
            MambaModel model = MambaModel.load(cpu, ckpt, format);
            for (int batch : batches) {
                double[] rates = new double[repeats], cpuRates = new double[repeats];
                long bytes = 0;
                com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
                Tensor logits = cpu.allocate(batch, vocab);
                int[] tokens = new int[batch];
                SplittableRandom r = new SplittableRandom(batch);
                for (int rep = -1; rep < repeats; rep++) { // -1: warm-up
                    try (Backend.DecodeStep step = model.decodeStep(model.newState(batch), logits)) {
                        if (step == null) {
                            System.out.printf(Locale.ROOT, "%s %s threads %d batch %d: no fused step%n", preset, format, threads, batch);
                            break;
                        }
                        int n = rep < 0 ? Math.max(steps, 2000 / batch) : steps;
                        long t0 = System.nanoTime(), c0 = mx.getCurrentThreadCpuTime(), a0 = mx.getCurrentThreadAllocatedBytes();
                        for (int s = 0; s < n; s++) {
                            for (int b = 0; b < batch; b++) tokens[b] = r.nextInt(real);
                            step.step(tokens);
                        }
                        if (rep >= 0) {
                            rates[rep] = (double) batch * n / ((System.nanoTime() - t0) / 1e9);
                            cpuRates[rep] = (double) batch * n / ((mx.getCurrentThreadCpuTime() - c0) / 1e9);
                            bytes = (mx.getCurrentThreadAllocatedBytes() - a0) / n;
                        }
                    }
                }
                cpu.release(logits);
                if (rates[0] > 0) {
                    print(preset, format, threads, "decode batch " + batch, rates);
                    // one thread: the calling thread's CPU time, which other jobs on a shared machine disturb less than wall time
                    if (threads == 1) print(preset, format, threads, "decode batch " + batch + " (thread CPU time, " + bytes + " B/step)", cpuRates);
                }
            }
            if (prefill > 0) {
                double[] rates = new double[repeats];
                int[] ids = new SplittableRandom(3).ints(prefill, 0, real).toArray();
                for (int rep = -1; rep < repeats; rep++) {
                    long t0 = System.nanoTime();
                    MambaState state = model.newState(1);
                    Tensor h = model.backbone(ids, 1, prefill, state, null);
                    Tensor l = model.logits(h);
                    cpu.toHost(l);
                    cpu.release(l);
                    if (rep >= 0) rates[rep] = prefill / ((System.nanoTime() - t0) / 1e9);
                }
                print(preset, format, threads, "chunked forward of " + prefill, rates);
            }
        }
    }

    private static CpuBackend abCpu;
    private static MambaModel abModel;
    private static String abKey;

    /**
     * For an A/B run of two builds in one JVM (each in its own class loader, alternating): tokens/s
     * of decoding steps of batch sequences, by the calling thread's CPU time when threads is 1
     * (else wall time); the model is kept between calls with the same arguments.
     */
    public static double measure(String preset, String format, int threads, int batch, int steps) {
        String key = preset + format + threads;
        if (!key.equals(abKey)) {
            if (abCpu != null) abCpu.close();
            abCpu = new CpuBackend(threads);
            abModel = MambaModel.load(abCpu, Initializer.reference(Presets.get(preset), 1), WeightFormat.valueOf(format.toUpperCase(Locale.ROOT)));
            abKey = key;
            measure(preset, format, threads, batch, Math.max(steps, 2000 / batch)); // warm-up
        }
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        int real = abModel.config().vocabSize();
        Tensor logits = abCpu.allocate(batch, abModel.config().paddedVocabSize());
        int[] tokens = new int[batch];
        SplittableRandom r = new SplittableRandom(batch);
        double rate;
        try (Backend.DecodeStep step = abModel.decodeStep(abModel.newState(batch), logits)) {
            long t0 = System.nanoTime(), c0 = mx.getCurrentThreadCpuTime();
            for (int s = 0; s < steps; s++) {
                for (int b = 0; b < batch; b++) tokens[b] = r.nextInt(real);
                step.step(tokens);
            }
            rate = (double) batch * steps / ((threads == 1 ? mx.getCurrentThreadCpuTime() - c0 : System.nanoTime() - t0) / 1e9);
        }
        abCpu.release(logits);
        return rate;
    }

    private static void print(String preset, WeightFormat format, int threads, String what, double[] rates) {
        double[] s = rates.clone();
        Arrays.sort(s);
        System.out.printf(Locale.ROOT, "%s %s threads %d %s: %,.0f tok/s median [%,.0f-%,.0f]%n", preset, format, threads, what,
                s[s.length / 2], s[0], s[s.length - 1]);
    }
}
