package org.ssmtk.core.bench;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.Precision;
import org.ssmtk.core.backend.cuda.CudaBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.device.Backends;
import org.ssmtk.core.nn.Generator;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.nn.Sampler;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.AdamW;
import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.LanguageModelLoss;
import org.ssmtk.core.train.LearningRateSchedule;
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.Trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * End-to-end numbers of the full model on the cuda backend: training tokens/s through {@link Trainer}
 * (forward, loss, backward, clipping, AdamW) once per precision (fp32: cuBLAS sgemm; bf16: bf16
 * tensor-core products with fp32 accumulation and master weights), generation tokens/s with the
 * recurrent step, and one long forward of the backbone with the LM head streamed in blocks (both
 * in the first precision). Prints one table last.
 *
 * <p>Run: java -cp ... org.ssmtk.core.bench.ModelBench
 * [train=130m:8x2048,130m-mamba2:8x2048,dna:8x16384,dna-mamba2:8x16384] [gen=130m:1,64+130m-mamba2:1,64]
 * [long=dna:1048576,dna-mamba2:1048576] [steps=N] [precision=fp32,bf16,fp32+tf32ssd] [profile=N] [kernels=N] (the defaults: Mamba-2 presets
 * beside the Mamba-1 ones of the same width; gen's presets are joined by +); any backend name other
 * than cuda in {@code device=cpu} runs the same code on the CPU (fp32 only), which is only meant for
 * trying it at tiny sizes. profile=N trains N more steps after the timed ones and prints where their
 * time went, call by call ({@link OpProfile}); kernels=N (cuda) trains N more steps after those and prints
 * each kernel's and cuBLAS call's device time per step (events around each launch, the queue left
 * running ahead as in training), the table to hold beside the reference's torch.profiler one.
 */
public final class ModelBench {
    private ModelBench() {}

    public static void main(String[] args) throws IOException {
        String train = "130m:8x2048,130m-mamba2:8x2048,dna:8x16384,dna-mamba2:8x16384";
        String gen = "130m:1,64+130m-mamba2:1,64";
        String lng = "dna:1048576,dna-mamba2:1048576", device = "cuda", precisions = "fp32,bf16";
        int trainSteps = 6, genSteps = 64, profileSteps = 0, kernelSteps = 0;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "train" -> train = kv[1];
                case "gen" -> gen = kv[1];
                case "long" -> lng = kv[1];
                case "steps" -> trainSteps = Integer.parseInt(kv[1]);
                case "gensteps" -> genSteps = Integer.parseInt(kv[1]);
                case "profile" -> profileSteps = Integer.parseInt(kv[1]);
                case "kernels" -> kernelSteps = Integer.parseInt(kv[1]);
                case "device" -> device = kv[1];
                case "precision" -> precisions = kv[1];
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        List<String> table = new ArrayList<>();
        table.add("| what                                   | model       | shape          | seconds  | tokens/s   | GPU mem GiB |");
        table.add("|----------------------------------------|-------------|----------------|----------|------------|-------------|");
        String[] precisionList = device.equals("cuda") ? precisions.split(",") : new String[]{"fp32"};
        for (int i = 0; i < precisionList.length; i++) {
            // "fp32+tf32ssd": fp32 products with the SSD scan's in TF32, the reference's own fp32 mix
            String[] pe = precisionList[i].split("\\+", 2);
            Precision precision = Precision.parse(pe[0]);
            String ssd = pe.length > 1 ? ssdProducts(pe[1]) : null;
            String label = precision + " GEMMs" + (ssd == null ? "" : ", " + ssd + " SSD");
            // one backend per precision, closed before the next opens
            Backend backend = device.equals("cuda") ? CudaBackend.open(precision, ssd)
                    : Backends.open(device, 0, s -> {});
            try {
                System.out.println(backend.describe());
                if (!train.isEmpty())
                    for (String spec : train.split(",")) {
                        startRow(backend);
                        table.add(train(backend, spec, trainSteps, precision, label, profileSteps, kernelSteps));
                    }
                startRow(backend);
                if (i == 0 && !gen.isEmpty())
                    for (String spec : gen.split("\\+")) {
                        table.addAll(generate(backend, spec, genSteps));
                        startRow(backend);
                    }
                if (i == 0 && !lng.isEmpty())
                    for (String spec : lng.split(",")) {
                        startRow(backend);
                        table.add(longForward(backend, spec));
                    }
            } finally {
                backend.close();
            }
            System.gc();
        }
        System.out.println();
        System.out.println("end to end; training rows name their GEMM precision (bf16: bf16 operands, fp32 accumulation,"
                + " fp32 master weights, everything else fp32), the other rows run in " + precisionList[0]
                + "; generation: tokens/s = batch x steps / seconds after warmup, greedy, picked on the device (only"
                + " the ids come back), the backend's fused step (CUDA graph of few kernels per layer), the op-by-op step replayed as a CUDA graph, or queued op by op");
        System.out.println("GPU mem GiB: device memory in use at the row's peak (cuMemGetInfo at the memory pool's high"
                + " watermark; the pool is trimmed and its peaks reset before every row)");
        table.forEach(System.out::println);
    }

    /** Frees what the previous row left, so that each row's peak is its own. */
    private static void startRow(Backend backend) {
        if (!(backend instanceof CudaBackend gpu)) return;
        gpu.trimMemory();
        gpu.resetMemoryPeaks();
    }

    private static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f", bytes / (double) (1L << 30));
    }

    /**
     * One training forward outside the timed run, to measure what it keeps (tensor storage live
     * after it minus before, per layer); released again before training starts.
     */
    private static long keptByForward(Backend backend, MambaModel model, int batch, int len) {
        if (!(backend instanceof CudaBackend gpu)) return -1;
        int[] ids = new int[batch * len];
        long before = gpu.memoryStats().tensorsLive();
        MambaModel.Activations act = model.forwardTraining(ids, batch, len);
        long kept = gpu.memoryStats().tensorsLive() - before;
        model.release(act);
        return kept;
    }

    /** "130m:8x2048": preset, batch, length. */
    /** "tf32ssd" -> "tf32" (fp32ssd, tf32x3ssd likewise): the SSD scan's products for a precision entry. */
    static String ssdProducts(String s) {
        if (!s.endsWith("ssd")) throw new IllegalArgumentException("precision suffix +" + s + ": expected +fp32ssd, +tf32x3ssd or +tf32ssd");
        return s.substring(0, s.length() - 3);
    }

    static String train(Backend backend, String spec, int steps, Precision precision, String label, int profileSteps,
                        int kernelSteps) throws IOException {
        String[] p = spec.split(":");
        String[] bl = p[1].split("x");
        int batch = Integer.parseInt(bl[0]), len = Integer.parseInt(bl[1]);
        MambaConfig config = Presets.get(p[0]);
        // profiled steps follow the timed ones, through a view of the backend that times each call
        var profiled = profileSteps <= 0 ? null
                : OpProfile.wrap(backend, backend instanceof CudaBackend gpu ? gpu::synchronize : () -> {});
        MambaModel model = MambaModel.load(profiled == null ? backend : profiled.getKey(), Initializer.reference(config, 1));
        int vocab = config.vocabSize();
        BatchSource data = (step, micro) -> {
            SplittableRandom r = BatchSource.random(7, step, micro);
            int[] ids = new int[batch * len];
            for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(vocab);
            return Batch.nextToken(ids, batch, len);
        };
        // the first steps load kernels, create handles and fill the memory pool: time the rest
        int warm = Math.min(2, steps - 1);
        // kernel-timed steps follow the profiled ones (a profiled step waits after every call)
        CudaBackend kernelTimed = kernelSteps > 0 && backend instanceof CudaBackend gpu ? gpu : null;
        long kernelsFrom = steps + (profiled == null ? 0 : profileSteps);
        long totalSteps = kernelsFrom + (kernelTimed == null ? 0 : kernelSteps);
        long kept = keptByForward(backend, model, batch, len);
        if (backend instanceof CudaBackend gpu) gpu.resetMemoryPeaks();
        Trainer.Options o = new Trainer.Options(totalSteps, 1, 1.0, new LearningRateSchedule(6e-4, 6e-5, 0, steps),
                AdamW.Settings.defaults(), 0, 1, 1, null, false, null);
        List<Trainer.StepMetrics> seen = new ArrayList<>();
        Trainer.train(model, data, Objective.languageModel(), o, new Trainer.Listener() {
            @Override
            public void onStep(Trainer.StepMetrics m) {
                seen.add(m);
                if (profiled != null && m.step() == steps) profiled.getValue().enable(true);
                if (profiled != null && m.step() == kernelsFrom) profiled.getValue().enable(false);
                if (kernelTimed != null && m.step() == kernelsFrom) kernelTimed.timeKernels(true);
                System.out.printf(Locale.ROOT, "train %s %s step %d loss %.4f grad norm %.3f elapsed %.3f s%n", spec, precision, m.step(),
                        m.loss(), m.gradNorm(), m.elapsedSeconds());
            }
        });
        if (profiled != null) {
            profiled.getValue().enable(false);
            profiled.getValue().table(profileSteps).forEach(l -> System.out.println("train " + spec + " " + precision + " " + l));
        }
        if (kernelTimed != null) {
            kernelTimed.timeKernels(false);
            kernelTimed.kernelTimes(kernelSteps).forEach(l -> System.out.println("train " + spec + " " + precision + " " + l));
        }
        Trainer.StepMetrics a = seen.get(warm - 1 < 0 ? 0 : warm - 1), z = seen.get(steps - 1);
        double seconds = warm == 0 ? z.elapsedSeconds() : z.elapsedSeconds() - a.elapsedSeconds();
        long tokens = warm == 0 ? z.tokens() : z.tokens() - a.tokens();
        String peak = "-";
        if (backend instanceof CudaBackend gpu) {
            CudaBackend.MemoryStats m = gpu.memoryStats();
            long params = 0;
            for (Tensor t : model.parameters().values()) params += 4 * t.size();
            int padded = config.paddedVocabSize(), rows = batch * len;
            long logitBlocks = 2L * 4 * padded * Math.min(rows, LanguageModelLoss.blockRows(padded));
            int layers = config.numHiddenLayers();
            System.out.printf(Locale.ROOT, "memory %s %s (GiB): weights %s, gradients %s, AdamW m+v %s, activations kept by the"
                            + " forward %s (%s per layer), logits + dLogits blocks %s (%d rows), backward buffers, bf16 twins + call scratch"
                            + " %s (rest of the tensors' peak), call scratch at peak %s; tensors at peak %s; pool: handed out at"
                            + " peak %s, reserved at peak %s (kept but free: %s); device in use at the peak %s (cuMemGetInfo;"
                            + " outside the pool: context, modules, cuBLAS %s), in use now %s of %s%n",
                    spec, precision, gib(params), gib(params), gib(2 * params), gib(kept), gib(kept / layers),
                    gib(logitBlocks), Math.min(rows, LanguageModelLoss.blockRows(padded)),
                    gib(m.tensorsPeak() - 4 * params - kept - logitBlocks), gib(m.scratchPeak()), gib(m.tensorsPeak()),
                    gib(m.poolUsedPeak()), gib(m.poolReservedPeak()), gib(m.poolReservedPeak() - m.poolUsedPeak()),
                    gib(m.deviceUsedPeak()), gib(m.deviceUsed() - m.poolReserved()), gib(m.deviceUsed()), gib(m.deviceTotal()));
            peak = String.format(Locale.ROOT, "%.1f", m.deviceUsedPeak() / (double) (1L << 30));
        }
        return String.format(Locale.ROOT, "| %-38s | %-11s | %-14s | %8.4f | %10.0f | %11s |",
                "train step, fwd+bwd+AdamW, " + label, p[0], batch + "x" + len, seconds / (steps - warm),
                tokens / seconds, peak);
    }

    /**
     * "130m:1,64": preset, batches. One random token per sequence, then greedy recurrent steps
     * sampled on the device (only the ids come back): the backend's fused step (where it has one),
     * the op-by-op step replayed as a CUDA graph, and the step queued operation by operation.
     */
    static List<String> generate(Backend backend, String spec, int steps) {
        String[] p = spec.split(":");
        MambaConfig config = Presets.get(p[0]);
        MambaModel model = MambaModel.load(backend, Initializer.reference(config, 2));
        int real = config.vocabSize();
        List<String> rows = new ArrayList<>();
        for (String bs : p[1].split(","))
            for (int mode = 0; mode < 3; mode++) { // fused step, op-by-op step as a CUDA graph, op by op
                int batch = Integer.parseInt(bs);
                MambaState state = model.newState(batch);
                int[] tokens = new int[batch];
                SplittableRandom r = new SplittableRandom(batch);
                for (int i = 0; i < batch; i++) tokens[i] = r.nextInt(real);
                int warm = Math.max(8, steps / 8);
                long t0 = 0;
                String how;
                boolean fusedAtAll;
                try (Generator.Decoder d = new Generator.Decoder(model, state, tokens, new Sampler(real, 0, 0, 1), mode < 2, mode == 0)) {
                    fusedAtAll = d.fused();
                    if (mode == 1 && d.fused()) throw new IllegalStateException("fused without asking");
                    for (int s = 0; s < warm + steps; s++) {
                        if (s == warm) t0 = System.nanoTime();
                        d.step();
                    }
                    how = d.fused() ? "fused, CUDA graph" : d.recorded() ? "CUDA graph" : "op by op";
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                rows.add(String.format(Locale.ROOT, "| %-38s | %-11s | %-14s | %8.5f | %10.0f | %11s |",
                        "generation, per step, " + how, p[0], "batch " + batch,
                        seconds / steps, (double) batch * steps / seconds, memGib(backend)));
                System.out.println(rows.getLast());
                if (mode == 0 && !fusedAtAll) mode++; // no fused step: the next row would repeat this one
            }
        return rows;
    }

    /** "dna:1048576": preset and length, batch 1; backbone on the whole length, LM head in blocks. */
    static String longForward(Backend backend, String spec) {
        String[] p = spec.split(":");
        int len = Integer.parseInt(p[1]);
        MambaConfig config = Presets.get(p[0]);
        MambaModel model = MambaModel.load(backend, Initializer.reference(config, 3));
        // warm up kernels and the scratch pool at a short length first
        forward(backend, model, Math.min(len, 4096), 1);
        System.gc();
        long t0 = System.nanoTime();
        double checksum = forward(backend, model, len, 2);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "long forward %s: %.3f s, last logit block checksum %.6g%n", spec, seconds, checksum);
        return String.format(Locale.ROOT, "| %-38s | %-11s | %-14s | %8.3f | %10.0f | %11s |",
                "forward, backbone + streamed LM head", p[0], "1x" + len, seconds, len / seconds, memGib(backend));
    }

    private static double forward(Backend backend, MambaModel model, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[len];
        for (int i = 0; i < len; i++) ids[i] = r.nextInt(model.config().vocabSize());
        Tensor hidden = model.backbone(ids, 1, len, null, null);
        int blockRows = ForwardBench.LOGIT_BLOCK;
        Tensor block = backend.allocate(Math.min(len, blockRows), model.config().paddedVocabSize());
        int last = 0;
        for (int from = 0; from < len; from += blockRows) {
            int to = Math.min(len, from + blockRows);
            model.logits(hidden.rows(from, to), block.rows(0, to - from));
            last = to - from;
        }
        // reading a block back waits for all queued work and shows the values are finite
        float[] host = backend.toHost(block.rows(0, last));
        double sum = 0;
        for (float v : host) sum += v;
        if (!Double.isFinite(sum)) throw new IllegalStateException("long forward produced non-finite logits");
        return sum;
    }

    /** The device memory in use at the peak since the row started, GiB. */
    private static String memGib(Backend backend) {
        if (!(backend instanceof CudaBackend gpu)) return "-";
        return String.format(Locale.ROOT, "%.1f", gpu.memoryStats().deviceUsedPeak() / (double) (1L << 30));
    }
}
