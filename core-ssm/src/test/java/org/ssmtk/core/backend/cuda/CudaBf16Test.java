package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.Precision;
import org.ssmtk.core.device.Backends;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.AdamW;
import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.LanguageModelLoss;
import org.ssmtk.core.train.LearningRateSchedule;
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.Trainer;

import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mixed-precision path (--precision bf16): products on bf16 operands with fp32 accumulation,
 * against the fp32 CPU backend and the float64 transformers fixtures. bf16 keeps 8 bits of
 * mantissa, so a product of rounded operands lands near 2^-9 relative error per term; 1e-2 is the
 * tolerance for bf16 operands (fp32 paths are held to 1e-5 and 1e-4 elsewhere).
 */
@ExtendWith(Seeds.class)
class CudaBf16Test {
    static final double BF16 = 1e-2;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void closeCpu() {
        cpu.close();
    }

    static float[] random(int n) {
        SplittableRandom r = new SplittableRandom(Seeds.next());
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @Test
    void bf16IsRefusedOffTheGpu() {
        var e = assertThrows(org.ssmtk.core.device.BackendUnavailableException.class, () -> Backends.open("cpu", 1, "bf16", s -> {}));
        assertEquals("--precision bf16 needs --device cuda", e.getMessage());
        var bad = assertThrows(org.ssmtk.core.device.BackendUnavailableException.class, () -> Backends.open("cpu", 1, "fp16", s -> {}));
        assertEquals("--precision must be bf16 or fp32, got 'fp16'", bad.getMessage());
        try (Backend b = Backends.open("cpu", 1, "fp32", s -> {})) {
            assertEquals("cpu", b.name());
        }
        // the SSD scan's products are the cuda backend's alone: asked of the CPU, refused rather than ignored
        var ssd = assertThrows(org.ssmtk.core.device.BackendUnavailableException.class, () -> Backends.open("cpu", 1, "fp32", "tf32", s -> {}));
        assertEquals("--ssd-products needs --device cuda", ssd.getMessage());
    }

    /** --ssd-products reaches the GPU backend: what it names is what the SSD scan multiplies in; unnamed, the precision's own. */
    @Test
    void ssdProductsAsAsked() {
        Gpu.backend(); // skips without a GPU
        // {--precision, --ssd-products, what describe() ends with}
        for (String[] c : new String[][]{{"fp32", null, "3xTF32 tensor cores"}, {"bf16", null, "TF32 tensor cores"},
                {"fp32", "tf32", "TF32 tensor cores"}, {"fp32", "fp32", "fp32"}, {"bf16", "tf32x3", "3xTF32 tensor cores"}}) {
            try (Backend b = Backends.open("cuda", 0, c[0], c[1], s -> {})) {
                assertTrue(b.describe().endsWith("SSD scan products: " + c[2]), c[0] + " " + c[1] + ": " + b.describe());
            }
        }
    }

    @ParameterizedTest(name = "M={0} N={1} K={2} bias={3}")
    @CsvSource({"1,1,1,true", "2,5,9,false", "97,67,33,true", "200,130,64,true", "4,300,768,false", "257,1536,48,true",
            "2048,80,1536,false"})
    void linearAndItsBackward(int m, int n, int k, boolean withBias) {
        check(Gpu.bf16(), m, n, k, withBias);
    }

    @Test
    void linearOnRandomShapes() {
        CudaBackend gpu = Gpu.bf16();
        SplittableRandom r = new SplittableRandom(Seeds.next());
        for (int i = 0; i < 6; i++) check(gpu, 1 + r.nextInt(600), 1 + r.nextInt(600), 1 + r.nextInt(600), r.nextBoolean());
    }

    private static void check(CudaBackend gpu, int m, int n, int k, boolean withBias) {
        assertEquals(Precision.BF16, gpu.precision());
        String s = m + "x" + n + "x" + k;
        float[] xv = random(m * k), bigv = random((n + 3) * k), bv = random(n), outv = random(m * n);
        Tensor xc = cpu.fromHost(xv, m, k), xg = gpu.fromHost(xv, m, k);
        // a row view of a larger weight (as in_proj and x_proj are), at an offset that is not 16-byte aligned
        Tensor wc = cpu.fromHost(bigv, n + 3, k).rows(1, 1 + n), wg = gpu.fromHost(bigv, n + 3, k).rows(1, 1 + n);
        Tensor bc = withBias ? cpu.fromHost(bv, n) : null, bg = withBias ? gpu.fromHost(bv, n) : null;
        Tensor oc = cpu.fromHost(outv, m, n), og = gpu.fromHost(outv, m, n);
        cpu.linear(oc, xc, wc, bc);
        gpu.linear(og, xg, wg, bg);
        Gpu.close("bf16 linear " + s, gpu.toHost(og), cpu.toHost(oc), BF16);

        float[] dyv = random(m * n), dxv = random(m * k), dwv = random(n * k), dbv = random(n);
        Tensor dyc = cpu.fromHost(dyv, m, n), dyg = gpu.fromHost(dyv, m, n);
        Tensor dxc = cpu.fromHost(dxv, m, k), dxg = gpu.fromHost(dxv, m, k);
        // the gradient accumulators start from values the product is much smaller than at large k: compare
        // the increments, which is what bf16 rounds
        Tensor dwc = cpu.fromHost(dwv, n, k), dwg = gpu.fromHost(dwv, n, k);
        Tensor dbc = withBias ? cpu.fromHost(dbv, n) : null, dbg = withBias ? gpu.fromHost(dbv, n) : null;
        cpu.linearBackward(dxc, dwc, dbc, dyc, xc, wc);
        gpu.linearBackward(dxg, dwg, dbg, dyg, xg, wg);
        Gpu.close("bf16 linear backward dx " + s, minus(gpu.toHost(dxg), dxv), minus(cpu.toHost(dxc), dxv), BF16);
        Gpu.close("bf16 linear backward dw " + s, minus(gpu.toHost(dwg), dwv), minus(cpu.toHost(dwc), dwv), BF16);
        if (withBias) Gpu.close("bf16 linear backward dbias " + s, gpu.toHost(dbg), cpu.toHost(dbc), 1e-4);
    }

    private static float[] minus(float[] a, float[] b) {
        float[] out = new float[a.length];
        for (int i = 0; i < a.length; i++) out[i] = a[i] - b[i];
        return out;
    }

    @Test
    void modelLogitsAndLossMatchTheReference() throws Exception {
        CudaBackend gpu = Gpu.bf16();
        Path dir = Fixtures.dir("tiny-mamba");
        MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"))) {
            int[] shape = ref.info("input_ids").intShape();
            int batch = shape[0], len = shape[1];
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            MambaModel model = MambaModel.load(gpu, checkpoint);
            Tensor last = model.backbone(ids, batch, len, null, null);
            Gpu.close("bf16 model logits", gpu.toHost(model.logits(last)), ref.doubles("logits"), BF16);

            Gradients grads = model.newGradients();
            var result = LanguageModelLoss.lossAndGradients(model, ids, batch, len, grads, 1f);
            double refLoss = ref.doubles("loss")[0];
            double lossErr = Math.abs(result.loss() - refLoss) / Math.abs(refLoss);
            System.out.printf("parity %-58s rel.err %.3e (tolerance 1e-02)%n", "bf16 model loss", lossErr);
            assertTrue(lossErr < BF16, "bf16 loss " + result.loss() + " vs " + refLoss);
            // gradients through bf16 products: reported, not asserted (small gradients lose more
            // relative accuracy than logits; training below is the check that they are usable)
            for (Map.Entry<String, Tensor> e : grads.all().entrySet())
                System.out.printf("bf16-info grad.%-50s rel.err %.3e%n", e.getKey(),
                        Fixtures.relativeError(gpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey())));
        }
    }

    @Test
    void trainingStepsReduceTheLoss() throws Exception {
        CudaBackend gpu = Gpu.bf16();
        MambaConfig config = MambaConfig.of(11, 32, 8, 2);
        MambaModel model = MambaModel.load(gpu, Initializer.reference(config, 1));
        var opts = new Trainer.Options(40, 1, 1.0, new LearningRateSchedule(1e-2, 1e-3, 5, 40), AdamW.Settings.defaults(),
                0, 1, 10, null, false, null);
        Trainer.Result r = Trainer.train(model, patterns(8, 24), Objective.languageModel(), opts, new Trainer.Listener() {});
        double first = r.history().get(0).loss(), last = r.finalLoss();
        System.out.printf("bf16-info training loss %.4f -> %.4f over 40 steps%n", first, last);
        assertTrue(Double.isFinite(last) && last < 0.7 * first, "bf16 training should cut the loss: " + first + " -> " + last);
    }

    /** Sequences of a few repeated patterns: learnable, and a function of (step, micro) only. */
    static BatchSource patterns(int batch, int len) {
        return (step, micro) -> {
            var rnd = BatchSource.random(7, step, micro);
            int[] ids = new int[batch * len];
            for (int b = 0; b < batch; b++) {
                int start = rnd.nextInt(11), stride = 1 + rnd.nextInt(2);
                for (int t = 0; t < len; t++) ids[b * len + t] = (start + stride * t) % 11;
            }
            return Batch.nextToken(ids, batch, len);
        };
    }
}
