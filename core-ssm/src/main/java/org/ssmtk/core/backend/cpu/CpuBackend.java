package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.scan.CpuSelectiveScan;
import org.ssmtk.core.tensor.Storage;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;

/**
 * The CPU backend: float32 Java arrays, a fixed thread pool, and Vector API kernels for the
 * products and the scan. Work is split into tasks whose outputs do not overlap, so results are
 * the same for every run with the same thread count.
 */
public final class CpuBackend implements Backend {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

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
        if (dst.size() != src.size()) throw new IllegalArgumentException("copy " + src + " into " + dst);
        System.arraycopy(data(src), off(src), data(dst), off(dst), (int) src.size());
    }

    @Override
    public void fill(Tensor t, float value) {
        Arrays.fill(data(t), off(t), off(t) + (int) t.size(), value);
    }

    // ---- layers

    @Override
    public void linear(Tensor out, Tensor x, Tensor w, Tensor bias) {
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        if (w.rank() != 2 || w.dim(1) != k)
            throw new IllegalArgumentException("linear: x " + x + " does not match weight " + w);
        if (out.rows2d() != m || out.cols() != n)
            throw new IllegalArgumentException("linear: out " + out + " is not (" + m + ", " + n + ")");
        if (bias != null && bias.size() != n) throw new IllegalArgumentException("linear: bias " + bias + " for " + n + " outputs");
        Gemm.matmulTransposed(par, data(x), off(x), data(w), off(w), bias == null ? null : data(bias),
                bias == null ? 0 : off(bias), data(out), off(out), m, n, k);
    }

    @Override
    public void embedding(Tensor out, int[] ids, Tensor table) {
        int vocab = table.dim(0), h = table.dim(1);
        if (out.rows2d() != ids.length || out.cols() != h)
            throw new IllegalArgumentException("embedding: out " + out + " for " + ids.length + " ids of width " + h);
        float[] t = data(table), o = data(out);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
            System.arraycopy(t, off(table) + id * h, o, off(out) + i * h, h);
        }
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps) {
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
    public void negExp(Tensor out, Tensor x) {
        float[] xd = data(x), od = data(out);
        for (int i = 0; i < x.size(); i++) od[off(out) + i] = (float) -Math.exp(xd[off(x) + i]);
    }

    @Override
    public void causalConv1dSilu(Tensor out, Tensor x, Tensor weight, Tensor bias, Tensor convState, int batch, int len) {
        int ch = x.cols(), width = weight.cols();
        if (x.rows2d() != batch * len || out.rows2d() != batch * len || out.cols() != ch || weight.rows2d() != ch)
            throw new IllegalArgumentException("conv1d: x " + x + ", out " + out + ", weight " + weight + " for batch " + batch + " x len " + len);
        if (convState != null && convState.size() != (long) batch * (width - 1) * ch)
            throw new IllegalArgumentException("conv1d: state " + convState + " is not (" + batch + ", " + (width - 1) + ", " + ch + ")");
        float[] xd = data(x), od = data(out), wd = data(weight), bd = bias == null ? null : data(bias);
        float[] sd = convState == null ? null : data(convState);
        int xo = off(x), oo = off(out), wo = off(weight), bo = bias == null ? 0 : off(bias), so = convState == null ? 0 : off(convState);
        int block = 64;
        int nBlocks = (ch + block - 1) / block;
        par.forEach(batch * nBlocks, task -> {
            int b = task / nBlocks, c0 = (task % nBlocks) * block, c1 = Math.min(ch, c0 + block);
            for (int t = 0; t < len; t++) {
                int row = b * len + t;
                for (int c = c0; c < c1; c++) {
                    float acc = bd == null ? 0f : bd[bo + c];
                    for (int j = 0; j < width; j++) {
                        int src = t - (width - 1) + j;
                        float v;
                        if (src >= 0) v = xd[xo + (b * len + src) * ch + c];
                        else if (sd != null) v = sd[so + (b * (width - 1) + (width - 1 + src)) * ch + c];
                        else continue;
                        acc += wd[wo + c * width + j] * v;
                    }
                    od[oo + row * ch + c] = silu(acc);
                }
            }
            if (sd != null) {
                // the new window is the last width-1 inputs of (old window ++ x)
                int keep = width - 1;
                for (int j = 0; j < keep; j++) {
                    int src = len - keep + j;
                    for (int c = c0; c < c1; c++) {
                        int dst = so + (b * keep + j) * ch + c;
                        sd[dst] = src >= 0 ? xd[xo + (b * len + src) * ch + c] : sd[so + (b * keep + j + len) * ch + c];
                    }
                }
            }
        });
    }

    static float silu(float v) {
        return (float) (v / (1.0 + Math.exp(-v)));
    }

    @Override
    public void selectiveScan(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                              Tensor D, Tensor z, Tensor ssmState, int batch, int len) {
        int ch = u.cols(), n = A.cols();
        long rows = (long) batch * len;
        if (u.rows2d() != rows || delta.rows2d() != rows || delta.cols() != ch || y.rows2d() != rows || y.cols() != ch
                || A.rows2d() != ch || B.rows2d() != rows || B.cols() != n || C.rows2d() != rows || C.cols() != n
                || (z != null && (z.rows2d() != rows || z.cols() != ch))
                || (ssmState != null && ssmState.size() != (long) batch * ch * n))
            throw new IllegalArgumentException("selective scan: inconsistent shapes u " + u + ", delta " + delta + ", A " + A
                    + ", B " + B + ", C " + C + ", y " + y + ", z " + z + ", state " + ssmState + " for batch " + batch + " x len " + len);
        var o = new CpuSelectiveScan.Operands(data(y), off(y), data(u), off(u), data(delta), off(delta),
                deltaBias == null ? null : data(deltaBias), deltaBias == null ? 0 : off(deltaBias),
                data(A), off(A), data(B), off(B), data(C), off(C),
                D == null ? null : data(D), D == null ? 0 : off(D),
                z == null ? null : data(z), z == null ? 0 : off(z),
                ssmState == null ? null : data(ssmState), ssmState == null ? 0 : off(ssmState),
                batch, len, ch, n);
        par.forEach(CpuSelectiveScan.tasks(o), task -> CpuSelectiveScan.run(o, task));
    }

    @Override
    public void close() {
        par.close();
    }
}
