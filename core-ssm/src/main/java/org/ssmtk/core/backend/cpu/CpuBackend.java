package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.Shapes;
import org.ssmtk.core.backend.SsdShape;
import org.ssmtk.core.tensor.Storage;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * The CPU backend: float32 Java arrays, a fixed thread team, and Vector API kernels for the
 * products and the scans. Work is split into tasks whose outputs do not overlap, so results are
 * the same for every run with the same thread count. It is over 500 lines because it is the one
 * place where each of Backend's operations (Mamba-1, Mamba-2, Caduceus, int8) checks its shapes and
 * dispatches to its kernel; the kernels themselves live in their own classes.
 */
public final class CpuBackend implements Backend {
    /**
     * A matmul of fewer rows than this runs the dot-product kernel, of this many or more the broadcast
     * kernel; they sum in different orders, so a row's result can differ in its last bits between the
     * two (never between rows of one call). Callers that must give a row the same bits whatever shares
     * its call with it (a scattered run's shards) keep their calls on one side ({@code SequenceClassifier}).
     */
    public static final int MATMUL_KERNEL_ROWS = Gemm.PACK_ROWS;

    private static final VectorSpecies<Float> S = VectorMath.S;

    /** Heap storage of a CPU tensor. */
    static final class ArrayStorage implements Storage {
        final float[] data;

        ArrayStorage(float[] data) {
            this.data = data;
        }

        @Override
        public long capacity() {
            return data.length;
        }
    }

    private final Parallel par;

    public CpuBackend(int threads) {
        this.par = new Parallel(threads);
    }

    public CpuBackend() {
        this(defaultThreads());
    }

    /** SSMTK_THREADS if set, else the number of available processors. */
    public static int defaultThreads() {
        String env = System.getenv("SSMTK_THREADS");
        if (env != null && !env.isBlank()) {
            try {
                return Math.max(1, Integer.parseInt(env.trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("SSMTK_THREADS must be a positive integer, got '" + env + "'");
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public int threads() {
        return par.threads();
    }

    Parallel parallel() {
        return par;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public String describe() {
        return "cpu: " + par.threads() + " threads, " + S.vectorBitSize() + "-bit SIMD (" + S.length() + " float lanes)";
    }

    // ---- memory

    static float[] data(Tensor t) {
        if (!(t.storage() instanceof ArrayStorage s))
            throw new IllegalArgumentException("tensor " + t + " does not live on the CPU backend");
        return s.data;
    }

    static int off(Tensor t) {
        return (int) t.offset();
    }

    private static int checkedSize(int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("tensor " + Arrays.toString(shape) + " has " + n
                    + " elements, more than one CPU array holds; process the input in chunks or use the cuda backend");
        return (int) n;
    }

    @Override
    public Tensor allocate(int... shape) {
        return new Tensor(new ArrayStorage(new float[checkedSize(shape)]), 0, shape);
    }

    @Override
    public Tensor fromHost(float[] values, int... shape) {
        if (checkedSize(shape) != values.length)
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        return new Tensor(new ArrayStorage(values.clone()), 0, shape);
    }

    /** Wraps an array without copying: the tensor and the caller share it. */
    public Tensor wrap(float[] values, int... shape) {
        if (checkedSize(shape) != values.length)
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        return new Tensor(new ArrayStorage(values), 0, shape);
    }

    @Override
    public float[] toHost(Tensor t) {
        return Arrays.copyOfRange(data(t), off(t), off(t) + (int) t.size());
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        Shapes.copy(dst, src);
        System.arraycopy(data(src), off(src), data(dst), off(dst), (int) src.size());
    }

    @Override
    public void fill(Tensor t, float value) {
        Arrays.fill(data(t), off(t), off(t) + (int) t.size(), value);
    }

    // ---- layers

    @Override
    public void linear(Tensor out, Tensor x, Tensor w, Tensor bias) {
        Shapes.linear(out, x, w, bias);
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        if (w.storage() instanceof Q8Gemm.Q8Storage q) {
            Q8Gemm.matmulTransposed(par, data(x), off(x), q, off(w), bias == null ? null : data(bias),
                    bias == null ? 0 : off(bias), data(out), off(out), m, n, k);
            return;
        }
        Gemm.matmulTransposed(par, data(x), off(x), data(w), off(w), bias == null ? null : data(bias),
                bias == null ? 0 : off(bias), data(out), off(out), m, n, k);
    }

    @Override
    public Tensor quantizeInt8(Tensor w) {
        if (w.rank() != 2 || !org.ssmtk.core.tensor.Q8Blocks.fits(w.cols()))
            throw new IllegalArgumentException("int8 weights need a matrix with rows of whole 32-value blocks, got " + w);
        return new Tensor(Q8Gemm.quantize(data(w), off(w), w.dim(0), w.cols()), 0, w.shape());
    }

    @Override
    public void embedding(Tensor out, int[] ids, Tensor table) {
        int vocab = table.dim(0), h = table.dim(1);
        Shapes.embedding(out, ids, table);
        float[] t = data(table), o = data(out);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            System.arraycopy(t, off(table) + id * h, o, off(out) + i * h, h);
        }
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps) {
        Shapes.rmsNorm(out, x, weight);
        int m = x.rows2d(), h = x.cols();
        float[] xd = data(x), od = data(out), wd = data(weight);
        int xo = off(x), oo = off(out), wo = off(weight);
        int rowsPerTask = Math.max(1, 16384 / h);
        par.forEach((m + rowsPerTask - 1) / rowsPerTask, task -> {
            int r1 = Math.min(m, (task + 1) * rowsPerTask);
            for (int r = task * rowsPerTask; r < r1; r++) {
                double ss = 0;
                for (int i = 0; i < h; i++) {
                    float v = xd[xo + r * h + i];
                    ss += v * v;
                }
                float inv = (float) (1.0 / Math.sqrt(ss / h + eps));
                for (int i = 0; i < h; i++) od[oo + r * h + i] = wd[wo + i] * (xd[xo + r * h + i] * inv);
            }
        });
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        if (a.size() != b.size() || out.size() != a.size()) throw new IllegalArgumentException("add: " + out + " = " + a + " + " + b);
        float[] ad = data(a), bd = data(b), od = data(out);
        int ao = off(a), bo = off(b), oo = off(out);
        int n = (int) a.size();
        int chunk = 1 << 16;
        par.forEach((n + chunk - 1) / chunk, task -> {
            int i0 = task * chunk, i1 = Math.min(n, i0 + chunk);
            int i = i0;
            for (; i + S.length() <= i1; i += S.length())
                FloatVector.fromArray(S, ad, ao + i).add(FloatVector.fromArray(S, bd, bo + i)).intoArray(od, oo + i);
            for (; i < i1; i++) od[oo + i] = ad[ao + i] + bd[bo + i];
        });
    }

    @Override
    public void reverseSequences(Tensor out, Tensor in, int batch, int len, boolean reverseColumns) {
        int n = in.cols();
        if (in.rows2d() != batch * len || out.rows2d() != batch * len || out.cols() != n)
            throw new IllegalArgumentException("reverseSequences: " + out + " from " + in + " for batch " + batch + " x len " + len);
        float[] id = data(in), od = data(out);
        int io = off(in), oo = off(out), size = (int) in.size();
        if (id == od && io < oo + size && oo < io + size)
            throw new IllegalArgumentException("reverseSequences: out overlaps in");
        par.forEach(batch, b -> {
            for (int t = 0; t < len; t++) {
                int src = io + (b * len + len - 1 - t) * n, dst = oo + (b * len + t) * n;
                if (!reverseColumns) System.arraycopy(id, src, od, dst, n);
                else for (int c = 0; c < n; c++) od[dst + c] = id[src + n - 1 - c];
            }
        });
    }

    @Override
    public void broadcastRows(Tensor out, Tensor row) {
        int n = out.cols(), m = out.rows2d();
        Shapes.broadcastRows(out, row);
        for (int r = 0; r < m; r++) System.arraycopy(data(row), off(row), data(out), off(out) + r * n, n);
    }

    @Override
    public void addColumnSums(Tensor out, Tensor m) {
        int n = m.cols(), rows = m.rows2d();
        Shapes.columnSums(out, m);
        float[] md = data(m), od = data(out);
        int mo = off(m), oo = off(out), block = 64;
        // rows in order for every column (the same sums whatever the threads), read row by row
        par.forEach((n + block - 1) / block, t -> {
            int j0 = t * block, j1 = Math.min(n, j0 + block);
            float[] acc = new float[j1 - j0];
            for (int r = 0; r < rows; r++) {
                int base = mo + r * n;
                for (int j = j0; j < j1; j++) acc[j - j0] += md[base + j];
            }
            for (int j = j0; j < j1; j++) od[oo + j] += acc[j - j0];
        });
    }

    @Override
    public void negExp(Tensor out, Tensor x) {
        Shapes.sameSize("negExp", out, x);
        float[] xd = data(x), od = data(out);
        for (int i = 0; i < x.size(); i++) od[off(out) + i] = (float) -Math.exp(xd[off(x) + i]);
    }

    @Override
    public void causalConv1dSilu(Tensor out, Tensor x, Tensor weight, Tensor bias, Tensor convState, int batch, int len) {
        int ch = x.cols(), width = weight.cols();
        Shapes.conv1d(out, x, weight, convState, batch, len);
        float[] xd = data(x), od = data(out), wd = data(weight), bd = bias == null ? null : data(bias);
        float[] sd = convState == null ? null : data(convState);
        int xo = off(x), oo = off(out), wo = off(weight), bo = bias == null ? 0 : off(bias), so = convState == null ? 0 : off(convState);
        var o = new CpuConv1d.Operands(od, oo, xd, xo, wd, wo, bd, bo, sd, so, batch, len, ch, width);
        par.forEach(CpuConv1d.tasks(o), task -> CpuConv1d.run(o, task));
    }

    @Override
    public void selectiveScan(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                              Tensor D, Tensor z, Tensor ssmState, int batch, int len) {
        var o = scanOperands(y, u, delta, deltaBias, A, B, C, D, z, ssmState, null, batch, len);
        par.forEach(CpuSelectiveScan.tasks(o), task -> CpuSelectiveScan.run(o, task));
    }

    @Override
    public void selectiveScanTraining(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                                      Tensor D, Tensor z, Tensor chunkStates, int batch, int len) {
        var o = scanOperands(y, u, delta, deltaBias, A, B, C, D, z, null, chunkStates, batch, len);
        par.forEach(CpuSelectiveScan.tasks(o), task -> CpuSelectiveScan.run(o, task));
    }

    @Override
    public int scanChunk() {
        return CpuSelectiveScan.CHUNK;
    }

    private static float[] dataOrNull(Tensor t) {
        return t == null ? null : data(t);
    }

    private static int offOrZero(Tensor t) {
        return t == null ? 0 : off(t);
    }

    private static CpuSelectiveScan.Operands scanOperands(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A,
                                                          Tensor B, Tensor C, Tensor D, Tensor z, Tensor ssmState,
                                                          Tensor chunkStates, int batch, int len) {
        int ch = u.cols(), n = A.cols();
        Shapes.scan(y, u, delta, A, B, C, z, ssmState, chunkStates, batch, len, CpuSelectiveScan.CHUNK);
        return new CpuSelectiveScan.Operands(data(y), off(y), data(u), off(u), data(delta), off(delta),
                dataOrNull(deltaBias), offOrZero(deltaBias), data(A), off(A), data(B), off(B), data(C), off(C),
                dataOrNull(D), offOrZero(D), dataOrNull(z), offOrZero(z), dataOrNull(ssmState), offOrZero(ssmState),
                dataOrNull(chunkStates), offOrZero(chunkStates), batch, len, ch, n);
    }

    @Override
    public void selectiveScanBackward(Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB, Tensor dC,
                                      Tensor dD, Tensor dz, Tensor dOut, Tensor u, Tensor delta, Tensor deltaBias,
                                      Tensor A, Tensor B, Tensor C, Tensor D, Tensor z, Tensor chunkStates,
                                      int batch, int len) {
        Tensor y = dOut; // only its shape is checked: the backward never reads the forward's output
        var f = scanOperands(y, u, delta, deltaBias, A, B, C, D, z, null, chunkStates, batch, len);
        Shapes.scanGradients(deltaBias, dDeltaBias, D, dD, z, dz);
        var o = new CpuSelectiveScanBackward.Operands(f, data(dOut), off(dOut), data(du), off(du), data(dDelta), off(dDelta),
                dataOrNull(dz), offOrZero(dz), data(dA), off(dA), data(dB), off(dB), data(dC), off(dC),
                dataOrNull(dD), offOrZero(dD), dataOrNull(dDeltaBias), offOrZero(dDeltaBias));
        int groups = CpuSelectiveScanBackward.groups(batch, u.cols(), par.threads());
        var partials = CpuSelectiveScanBackward.partials(o, groups);
        par.forEach(batch * groups, task -> CpuSelectiveScanBackward.run(o, partials, task));
        int rows = batch * len, block = 256;
        par.forEach((rows + block - 1) / block, t -> CpuSelectiveScanBackward.reduceRows(o, partials, t * block, Math.min(rows, (t + 1) * block)));
        CpuSelectiveScanBackward.reduceChannels(o, partials);
    }

    // ---- backward

    @Override
    public void linearBackward(Tensor dx, Tensor dw, Tensor dBias, Tensor dy, Tensor x, Tensor w) {
        Shapes.linearBackward(dx, dw, dy, x, w);
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        if (dx != null) Gemm.matmul(par, data(dy), off(dy), data(w), off(w), data(dx), off(dx), m, k, n, true);
        Gemm.matmulTransposedA(par, data(dy), off(dy), data(x), off(x), data(dw), off(dw), m, n, k);
        if (dBias != null) addColumnSums(dBias, dy);
    }

    @Override
    public void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut) {
        Shapes.embeddingBackward(dTable, ids, dOut);
        int h = dTable.cols();
        float[] t = data(dTable), o = data(dOut);
        int to = off(dTable), oo = off(dOut);
        // parallel over column blocks: rows of the same id are then added by one task, in order
        int block = 64;
        par.forEach((h + block - 1) / block, task -> {
            int c0 = task * block, c1 = Math.min(h, c0 + block);
            for (int i = 0; i < ids.length; i++)
                for (int c = c0; c < c1; c++) t[to + ids[i] * h + c] += o[oo + i * h + c];
        });
    }

    /** Rows per task for row-wise kernels whose weight gradients need per-task partial sums. */
    private static final int NORM_ROWS = 64;

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, float eps) {
        Shapes.rmsNormBackward(dx, dWeight, dy, x, weight);
        int m = x.rows2d(), h = x.cols();
        float[] xd = data(x), dyd = data(dy), dxd = data(dx), wd = data(weight);
        int xo = off(x), dyo = off(dy), dxo = off(dx), wo = off(weight);
        int tasks = (m + NORM_ROWS - 1) / NORM_ROWS;
        float[] partial = new float[tasks * h];
        par.forEach(tasks, task -> {
            int r1 = Math.min(m, (task + 1) * NORM_ROWS);
            for (int r = task * NORM_ROWS; r < r1; r++) {
                double ss = 0, dot = 0;
                for (int i = 0; i < h; i++) {
                    float v = xd[xo + r * h + i];
                    ss += v * v;
                    dot += (double) wd[wo + i] * dyd[dyo + r * h + i] * v;
                }
                double inv = 1.0 / Math.sqrt(ss / h + eps);
                double coef = inv * inv * inv * dot / h;
                for (int i = 0; i < h; i++) {
                    float v = xd[xo + r * h + i], g = dyd[dyo + r * h + i];
                    dxd[dxo + r * h + i] += (float) (inv * wd[wo + i] * g - coef * v);
                    partial[task * h + i] += (float) (g * v * inv);
                }
            }
        });
        float[] dw = data(dWeight);
        int dwo = off(dWeight);
        for (int t = 0; t < tasks; t++)
            for (int i = 0; i < h; i++) dw[dwo + i] += partial[t * h + i];
    }

    @Override
    public void causalConv1dSiluBackward(Tensor dx, Tensor dWeight, Tensor dBias, Tensor dOut, Tensor x, Tensor weight,
                                         Tensor bias, int batch, int len) {
        Shapes.conv1dBackward(dx, dWeight, dBias, dOut, x, weight, bias, batch, len);
        int ch = x.cols(), width = weight.cols();
        float[] xd = data(x), wd = data(weight), bd = bias == null ? null : data(bias), god = data(dOut), dxd = data(dx);
        float[] dwd = data(dWeight), dbd = dBias == null ? null : data(dBias);
        int xo = off(x), wo = off(weight), bo = offOrZero(bias), go = off(dOut), dxo = off(dx), dwo = off(dWeight), dbo = offOrZero(dBias);
        int block = 16;
        // one task owns a block of channels over all sequences: its weight gradients are its own
        par.forEach((ch + block - 1) / block, task -> {
            int c0 = task * block, c1 = Math.min(ch, c0 + block);
            for (int c = c0; c < c1; c++) {
                double dbAcc = 0;
                double[] dwAcc = new double[width];
                for (int b = 0; b < batch; b++) {
                    for (int t = 0; t < len; t++) {
                        int row = b * len + t;
                        float pre = bd == null ? 0f : bd[bo + c];
                        for (int j = 0; j < width; j++) {
                            int src = t - (width - 1) + j;
                            if (src >= 0) pre += wd[wo + c * width + j] * xd[xo + (b * len + src) * ch + c];
                        }
                        double sig = 1 / (1 + Math.exp(-pre));
                        float dPre = (float) (god[go + row * ch + c] * sig * (1 + pre * (1 - sig)));
                        dbAcc += dPre;
                        for (int j = 0; j < width; j++) {
                            int src = t - (width - 1) + j;
                            if (src < 0) continue;
                            int xi = (b * len + src) * ch + c;
                            dwAcc[j] += dPre * xd[xo + xi];
                            dxd[dxo + xi] += wd[wo + c * width + j] * dPre;
                        }
                    }
                }
                if (dbd != null) dbd[dbo + c] += (float) dbAcc;
                for (int j = 0; j < width; j++) dwd[dwo + c * width + j] += (float) dwAcc[j];
            }
        });
    }

    @Override
    public void addProduct(Tensor out, Tensor a, Tensor b) {
        Shapes.sameSize("addProduct", out, a, b);
        float[] od = data(out), ad = data(a), bd = data(b);
        for (int i = 0; i < out.size(); i++) od[off(out) + i] += ad[off(a) + i] * bd[off(b) + i];
    }

    @Override
    public double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, Tensor dLogits, float scale) {
        Shapes.crossEntropy(logits, targets, dLogits);
        int m = logits.rows2d(), v = logits.cols();
        float[] ld = data(logits), gd = data(dLogits);
        int lo = off(logits), go = off(dLogits);
        double[] losses = new double[m];
        par.forEach((m + 15) / 16, task -> {
            for (int r = task * 16; r < Math.min(m, task * 16 + 16); r++) {
                int target = targets[r];
                if (target == ignoreIndex) {
                    java.util.Arrays.fill(gd, go + r * v, go + (r + 1) * v, 0f);
                    continue;
                }
                if (target < 0 || target >= v) throw new IllegalArgumentException("target " + target + " is outside [0, " + v + ")");
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < v; j++) max = Math.max(max, ld[lo + r * v + j]);
                double sum = 0;
                for (int j = 0; j < v; j++) sum += Math.exp(ld[lo + r * v + j] - max);
                double logZ = max + Math.log(sum);
                losses[r] = logZ - ld[lo + r * v + target];
                for (int j = 0; j < v; j++) gd[go + r * v + j] = (float) (scale * Math.exp(ld[lo + r * v + j] - logZ));
                gd[go + r * v + target] -= scale;
            }
        });
        double total = 0;
        for (double l : losses) total += l;
        return total;
    }

    @Override
    public double[] crossEntropyRows(Tensor logits, int width, int[] targets) {
        Shapes.crossEntropyRows(logits, width, targets);
        int m = logits.rows2d(), v = logits.cols(), lo = off(logits);
        float[] ld = data(logits);
        double[] losses = new double[m];
        par.forEach((m + 63) / 64, task -> {
            for (int r = task * 64; r < Math.min(m, task * 64 + 64); r++)
                losses[r] = targets[r] < 0 ? Double.NaN : CpuCrossEntropy.rowLoss(ld, lo + r * v, width, targets[r]);
        });
        return losses;
    }

    @Override
    public double sumOfSquares(Tensor t) {
        float[] d = data(t);
        double s = 0;
        for (int i = 0; i < t.size(); i++) {
            double v = d[off(t) + i];
            s += v * v;
        }
        return s;
    }

    @Override
    public void scale(Tensor t, float factor) {
        float[] d = data(t);
        for (int i = 0; i < t.size(); i++) d[off(t) + i] *= factor;
    }

    @Override
    public double sumOfSquares(List<Tensor> ts) {
        double s = 0;
        for (Tensor t : ts) s += sumOfSquares(t);
        return s;
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float bc1, float bc2) {
        adamW(param, grad, m, v, 1f, lr, beta1, beta2, eps, weightDecay, bc1, bc2);
    }

    @Override
    public void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, float[] weightDecay,
                      float gradScale, float lr, float beta1, float beta2, float eps, float bc1, float bc2) {
        Shapes.adamWLists(params, grads, m, v, weightDecay);
        int n = params.size();
        for (int i = 0; i < n; i++)
            adamW(params.get(i), grads.get(i), m.get(i), v.get(i), gradScale, lr, beta1, beta2, eps, weightDecay[i], bc1, bc2);
    }

    /** The update with grad * gradScale (the clipping factor; 1 leaves the gradient exactly as it is). */
    private void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float gradScale, float lr, float beta1, float beta2,
                       float eps, float weightDecay, float bc1, float bc2) {
        Shapes.sameSize("adamW", param, grad, m, v);
        float[] p = data(param), g = data(grad), md = data(m), vd = data(v);
        int po = off(param), go = off(grad), mo = off(m), vo = off(v);
        int n = (int) param.size();
        int chunk = 1 << 14;
        par.forEach((n + chunk - 1) / chunk, task -> {
            for (int i = task * chunk; i < Math.min(n, (task + 1) * chunk); i++) {
                float gi = g[go + i] * gradScale;
                float mi = beta1 * md[mo + i] + (1 - beta1) * gi;
                float vi = beta2 * vd[vo + i] + (1 - beta2) * gi * gi;
                md[mo + i] = mi;
                vd[vo + i] = vi;
                float pi = p[po + i];
                p[po + i] = pi - lr * ((mi / bc1) / ((float) Math.sqrt(vi / bc2) + eps) + weightDecay * pi);
            }
        });
    }

    // ---- decoding: one fused step per token (CpuDecoder)

    /** Picks from the logits where they lie: the default's copy to the host would be a second array per token. */
    @Override
    public int[] sample(Tensor logits, int vocabSize, double temperature, int topK, double[] uniforms) {
        int rows = logits.rows2d(), cols = logits.cols();
        org.ssmtk.core.backend.TokenSampling.check(rows, cols, vocabSize, temperature, topK, uniforms);
        int[] out = new int[rows];
        for (int r = 0; r < rows; r++)
            out[r] = org.ssmtk.core.backend.TokenSampling.pick(data(logits), off(logits) + r * cols, vocabSize, temperature, topK,
                    temperature == 0 ? 0 : uniforms[r]);
        return out;
    }

    @Override
    public DecodeStep decodeStep(org.ssmtk.core.backend.DecodePlan plan) {
        return CpuDecoder.open(par, plan);
    }

    // ---- Mamba-2: the kernels and their glue live in CpuSsdOps

    @Override
    public boolean supportsSsd() {
        return true;
    }

    @Override
    public void ssdScan(Tensor y, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                        Tensor ssmState, Tensor chunkStates, int batch, int len, SsdShape shape) {
        CpuSsdOps.scan(par, y, x, dt, dtBias, A, B, C, D, ssmState, chunkStates, batch, len, shape);
    }

    @Override
    public void ssdScanBackward(Tensor dx, Tensor dDt, Tensor dDtBias, Tensor dA, Tensor dB, Tensor dC, Tensor dD,
                                Tensor dOut, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                                Tensor chunkStates, int batch, int len, SsdShape shape) {
        CpuSsdOps.scanBackward(par, dx, dDt, dDtBias, dA, dB, dC, dD, dOut, x, dt, dtBias, A, B, C, D, chunkStates,
                batch, len, shape);
    }

    @Override
    public void gatedRmsNorm(Tensor out, Tensor x, Tensor z, Tensor weight, int groupSize, float eps) {
        CpuSsdOps.gatedRmsNorm(par, out, x, z, weight, groupSize, eps);
    }

    @Override
    public void gatedRmsNormBackward(Tensor dx, Tensor dz, Tensor dWeight, Tensor dOut, Tensor x, Tensor z, Tensor weight,
                                     int groupSize, float eps) {
        CpuSsdOps.gatedRmsNormBackward(par, dx, dz, dWeight, dOut, x, z, weight, groupSize, eps);
    }

    @Override
    public void close() {
        par.close();
    }
}
