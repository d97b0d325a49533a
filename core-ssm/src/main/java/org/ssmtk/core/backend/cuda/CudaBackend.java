package org.ssmtk.core.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUevent;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.Precision;
import org.ssmtk.core.backend.Shapes;
import org.ssmtk.core.backend.SsdShape;
import org.ssmtk.core.backend.TokenSampling;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static jcuda.driver.JCudaDriver.*;
import static org.ssmtk.core.backend.cuda.DeviceMemory.addr;
import static org.ssmtk.core.backend.cuda.DeviceMemory.ptr;

/**
 * The CUDA backend: the Backend's operations on one GPU. The pieces it is made of, each in its own
 * file: {@link CudaContext} (context, stream, kernel modules, launches), {@link DeviceMemory}
 * (storage and the scratch pool), one typed launcher per kernel file beside its .cu
 * ({@link ElementwiseKernels}, {@link ReductionKernels}, {@link Conv1dKernels}, {@link GemmKernel},
 * {@link ScanForwardKernels}, {@link ScanBackwardKernels}, {@link SsdKernels}, {@link ReverseKernels},
 * {@link DecodeKernels}), {@link CudaDecoder} (Mamba-1's fused decoding step), {@link CudaScan} (the scan's kernel
 * choice and scratch), {@link CudaSsd} (Mamba-2's SSD scan and gated norm) and {@link Cublas} (matrix products through cuBLAS, bound with FFM; where
 * none loads, {@link GemmKernel} runs). Everything is queued on one stream; {@link #toHost} waits.
 * It is over 500 lines because it is the one place where each of Backend's ~45 operations checks
 * its shapes and picks its launches, a few lines each; what is bigger lives in the classes above.
 */
public final class CudaBackend implements Backend {
    private final CudaContext context;
    private final DeviceMemory memory;
    private final ElementwiseKernels elementwise;
    private final ReductionKernels reduce;
    private final Conv1dKernels conv;
    private final ReverseKernels reverse;
    private final GemmKernel gemm;
    private final DecodeKernels decode;
    private final CudaScan scan;
    private final CudaSsd ssd;
    private final Cublas cublas;
    /**
     * The optimizer's tables of tensors: the gradients (norm), parameters with gradients and moments
     * (AdamW), and the gradients again (zero: each its own table, so that none is uploaded again).
     */
    private final TensorTable normTable, adamTable, zeroTable;
    private final boolean bf16;
    private final SsdKernels.Products ssdProducts;
    private final String description;
    /** The recording under way on this backend's stream, if any (see {@link #record}). */
    private volatile CudaReplay recording;
    private static final boolean GRAPHS = !"false".equals(System.getProperty("ssmtk.cuda.graphs"));
    private static final boolean POISON = Boolean.getBoolean("ssmtk.cuda.poisonUninitialized");

    /** products: the SSD scan's way of multiplying, or null for the precision's own. */
    private CudaBackend(CudaContext context, Precision precision, SsdKernels.Products products) {
        this.context = context;
        memory = new DeviceMemory(context);
        elementwise = new ElementwiseKernels(context);
        reduce = new ReductionKernels(context);
        conv = new Conv1dKernels(context);
        reverse = new ReverseKernels(context);
        gemm = new GemmKernel(context);
        decode = new DecodeKernels(context);
        scan = new CudaScan(this, context, memory, reduce);
        // the SSD scan's products in TF32 under bf16 (as the reference's Triton kernels run them even
        // in fp32); under fp32 in 3xTF32, which keeps fp32's accuracy (the GPU tests' 1e-5 and 1e-4)
        // and, on tensor cores, beats the exact CUDA-core products (SsdBench on an H200, 130m-mamba2
        // 8 x 2048: 3.21 against 3.61 ms a layer); --ssd-products picks one
        ssdProducts = products != null ? products : precision == Precision.BF16 ? SsdKernels.Products.TF32 : SsdKernels.Products.TF32X3;
        ssd = new CudaSsd(context, memory, reduce, ssdProducts);
        normTable = new TensorTable(context, memory);
        adamTable = new TensorTable(context, memory);
        zeroTable = new TensorTable(context, memory);
        List<String> tried = new ArrayList<>();
        cublas = "0".equals(System.getenv("SSMTK_CUBLAS_ENABLE")) ? null : Cublas.open(context.stream.address(), context.kernelTimes, tried);
        bf16 = precision == Precision.BF16;
        if (bf16 && cublas == null) {
            close();
            // the fallback kernel is fp32 only: running it would silently ignore the asked-for precision
            throw new IllegalStateException("--precision bf16 needs cuBLAS, and none loaded (tried " + tried.size() + " paths)");
        }
        description = "cuda: " + context.describeDevice() + ", kernels: PTX compute_80 via JCuda driver API, GEMM: "
                + (bf16 ? "cuBLAS bf16 tensor cores (cublasGemmEx, operands rounded to bf16 once per write of their storage, fp32 accumulation"
                + " and output; master weights, activations, scan, norms and optimizer fp32; " + cublas.path() + ", FFM)"
                : cublas != null ? "cuBLAS fp32 (" + cublas.path() + ", FFM)"
                : "fallback tiled fp32 kernel (no cuBLAS loaded; tried " + tried.size() + " paths)")
                + ", SSD scan products: " + switch (ssdProducts) {
                    case FP32 -> "fp32";
                    case TF32X3 -> "3xTF32 tensor cores";
                    case TF32 -> "TF32 tensor cores";
                };
    }

    /** Opens device 0 in fp32; see {@link #open(Precision)}. */
    public static CudaBackend open() {
        return open(Precision.FP32);
    }

    /**
     * Opens device 0 (SSMTK_CUDA_DEVICE picks another) with matrix products in the given precision.
     * Any failure, including a missing driver or JCuda's native library, is an
     * IllegalArgumentException with a one-line reason.
     */
    public static CudaBackend open(Precision precision) {
        return open(precision, defaultOrdinal(), (SsdKernels.Products) null);
    }

    /**
     * Opens device 0 (as {@link #open(Precision)}) with the SSD scan's products multiplied one given
     * way: fp32, tf32x3 or tf32 (null: the precision's own), as --ssd-products asks and the benchmarks compare.
     */
    public static CudaBackend open(Precision precision, String ssdProducts) {
        return open(precision, defaultOrdinal(), ssdProducts);
    }

    private static int defaultOrdinal() {
        String env = System.getenv("SSMTK_CUDA_DEVICE");
        try {
            return env == null || env.isBlank() ? 0 : Integer.parseInt(env.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("SSMTK_CUDA_DEVICE must be a device number, got '" + env + "'");
        }
    }

    /** Opens device ordinal; failures as in {@link #open(Precision)}. */
    public static CudaBackend open(Precision precision, int ordinal) {
        return open(precision, ordinal, (SsdKernels.Products) null);
    }

    /**
     * Device {@code ordinal} with the SSD scan's products multiplied one given way: fp32, tf32x3 or
     * tf32 (null: the precision's own); an IllegalArgumentException names a way that is none of these.
     */
    public static CudaBackend open(Precision precision, int ordinal, String ssdProducts) {
        return open(precision, ordinal, ssdProducts == null ? null : SsdKernels.Products.parse(ssdProducts));
    }

    private static CudaBackend open(Precision precision, int ordinal, SsdKernels.Products products) {
        try {
            return new CudaBackend(CudaContext.open(ordinal), precision, products);
        } catch (Throwable t) {
            String why = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().lines().findFirst().orElse("");
            throw new IllegalArgumentException("--device cuda: no usable CUDA GPU (" + why + ")", t);
        }
    }

    /**
     * How many CUDA devices this machine has; an IllegalArgumentException with a one-line reason
     * where there is no driver or JCuda cannot load.
     */
    public static int deviceCount() {
        try {
            return CudaContext.deviceCount();
        } catch (Throwable t) {
            String why = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().lines().findFirst().orElse("");
            throw new IllegalArgumentException("--device cuda: no usable CUDA GPU (" + why + ")", t);
        }
    }

    /** The device ordinal this backend runs on. */
    public int ordinal() {
        return context.ordinal;
    }

    CudaContext context() {
        return context;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String describe() {
        return description;
    }

    /** The precision of the matrix products. */
    public Precision precision() {
        return bf16 ? Precision.BF16 : Precision.FP32;
    }

    /** Whether products go through cuBLAS (else through the fallback kernel). */
    public boolean usesCublas() {
        return cublas != null;
    }

    /** The scan's kernel choice and its bf16-input entry points (for ScanBench and the tests). */
    public CudaScan scan() {
        return scan;
    }

    // ---- memory

    private static long size(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        return n;
    }

    @Override
    public Tensor allocate(int... shape) {
        long n = size(shape);
        DeviceMemory.CudaStorage s = memory.newStorage(n);
        if (n > 0) {
            CUevent timed = context.kernelTimes.begin();
            cuMemsetD32Async(s.ptr, 0, n, context.stream);
            if (timed != null) context.kernelTimes.end(timed, "memset (zeroed allocation)");
        }
        return new Tensor(s, 0, shape);
    }

    /**
     * Device memory as the pool hands it out, not zeroed (a memset of each activation buffer was 4 ms
     * of a 130M training step). With -Dssmtk.cuda.poisonUninitialized=true (the GPU tests') it is
     * filled with NaN instead, so that a caller that reads what it never wrote fails loudly.
     */
    @Override
    public Tensor allocateUninitialized(int... shape) {
        Tensor t = new Tensor(memory.newStorage(size(shape)), 0, shape);
        if (POISON) fill(t, Float.NaN);
        return t;
    }

    @Override
    public Tensor fromHost(float[] data, int... shape) {
        long n = size(shape);
        if (n != data.length) throw new IllegalArgumentException(data.length + " values for shape " + Arrays.toString(shape));
        DeviceMemory.CudaStorage s = memory.newStorage(n);
        cuStreamSynchronize(context.stream);
        if (n > 0) cuMemcpyHtoD(s.ptr, Pointer.to(data), n * 4);
        return new Tensor(s, 0, shape);
    }

    @Override
    public float[] toHost(Tensor t) {
        context.current();
        if (t.size() > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(t + " does not fit in one Java array");
        float[] out = new float[(int) t.size()];
        cuStreamSynchronize(context.stream);
        if (out.length > 0) cuMemcpyDtoH(Pointer.to(out), ptr(t), t.size() * 4);
        return out;
    }

    @Override
    public void release(Tensor t) {
        if (t != null) memory.release(t);
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        Shapes.copy(dst, src);
        context.current();
        if (src.size() > 0) {
            CUevent timed = context.kernelTimes.begin();
            cuMemcpyDtoDAsync(ptr(dst), ptr(src), src.size() * 4, context.stream);
            if (timed != null) context.kernelTimes.end(timed, "memcpy device to device (copy)");
        }
    }

    /**
     * Outside recordings, a fill with zeros of a whole storage is deferred (DeviceMemory.deferZero):
     * a gradient buffer's first writer (a product, the conv's or a scan's backward, the gated norm's
     * backward) then writes it instead of adding to zeros, which gives the same bits as adding to
     * zeros, and any other access queues the memset first.
     */
    @Override
    public void fill(Tensor t, float value) {
        context.current();
        if (t.size() > 0 && recording == null && Float.floatToRawIntBits(value) == 0 && memory.deferZero(t)) return;
        if (t.size() > 0) {
            CUevent timed = context.kernelTimes.begin();
            cuMemsetD32Async(ptr(t), Float.floatToRawIntBits(value), t.size(), context.stream);
            if (timed != null) context.kernelTimes.end(timed, "memset (fill)");
        }
    }

    /** Uniform values in [lo, hi) drawn on the device from a seed (benchmark inputs). */
    public void fillUniform(Tensor t, long seed, float lo, float hi) {
        context.current();
        elementwise.fillUniform(addr(t), t.size(), seed, lo, hi);
    }

    /** t's n values rounded to bf16 (nearest even) in a new buffer of ceil(n / 2) fp32-sized elements. */
    public Tensor toBf16(Tensor t) {
        Tensor out = allocateUninitialized((int) Math.max(1, (t.size() + 1) / 2));
        elementwise.toBf16(addr(out), addr(t), t.size());
        return out;
    }

    /** The n bf16 values of a toBf16 buffer widened to fp32, shaped. */
    public Tensor fromBf16(Tensor bf, int... shape) {
        Tensor out = allocateUninitialized(shape);
        elementwise.fromBf16(addr(out), addr(bf), out.size());
        return out;
    }

    /**
     * t rounded to bf16; its address. Outside a graph recording it is read from the bf16 twin of t's
     * storage ({@link DeviceMemory#bf16Twin}), converted at the first product that reads the storage
     * after it was last written: a weight is rounded once per optimizer step (AdamW's table takes
     * every parameter's address, which makes its twin stale), an activation once however many
     * products read it (in_proj's two halves, x_proj's three, the forward and the backward).
     * Otherwise it is rounded into the call's scratch.
     */
    private long bf16(DeviceMemory.Scratch s, Tensor t) {
        long twin = recording == null ? memory.bf16Twin(t, elementwise) : 0;
        if (twin != 0) return twin;
        long p = s.bytes(t.size() * 2);
        elementwise.toBf16(p, DeviceMemory.readAddr(t), t.size());
        return p;
    }

    // ---- layers, each with its backward

    @Override
    public void linear(Tensor out, Tensor x, Tensor w, Tensor bias) {
        Shapes.linear(out, x, w, bias);
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        context.current();
        if (m == 0 || n == 0) return;
        if (k == 0) {
            fill(out, 0f);
        } else if (bf16) {
            try (DeviceMemory.Scratch s = memory.scratch()) {
                long wb = bf16(s, w), xb = bf16(s, x);
                cublas.gemmEx(Cublas.OP_T, Cublas.OP_N, n, m, k, 1f, wb, k, xb, k, Cublas.R_16BF, 0f, addr(out), n);
            }
            // out is written after the twins above were looked up: should it share a storage with x or
            // w, their twins are stale from here on
            DeviceMemory.touch(out);
        } else if (cublas != null) {
            // row-major out (m, n) is column-major out^T (n, m) = W (x)^T with W^T stored as (k, n)
            cublas.sgemm(Cublas.OP_T, Cublas.OP_N, n, m, k, 1f, addr(w), k, addr(x), k, 0f, addr(out), n);
        } else {
            gemm.gemm(addr(out), addr(x), k, 1, addr(w), 1, k, m, n, k, 0f);
        }
        if (bias != null) elementwise.addBiasRows(addr(out), addr(bias), m, n);
    }

    @Override
    public void linearBackward(Tensor dx, Tensor dw, Tensor dBias, Tensor dy, Tensor x, Tensor w) {
        Shapes.linearBackward(dx, dw, dy, x, w);
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        context.current();
        if (m == 0 || n == 0 || k == 0) return;
        if (bf16) {
            // the same products as below on bf16 copies; dx and dW accumulate in fp32 (beta 1, fp32 C),
            // or are written (beta 0) where a deferred fill left them zero (DeviceMemory.deferZero)
            float dxBeta = dx != null && memory.takeZero(dx) ? 0f : 1f, dwBeta = memory.takeZero(dw) ? 0f : 1f;
            try (DeviceMemory.Scratch s = memory.scratch()) {
                long dyb = bf16(s, dy);
                if (dx != null)
                    cublas.gemmEx(Cublas.OP_N, Cublas.OP_N, k, m, n, 1f, bf16(s, w), k, dyb, n, Cublas.R_16BF, dxBeta, addr(dx), k);
                cublas.gemmEx(Cublas.OP_N, Cublas.OP_T, k, n, m, 1f, bf16(s, x), k, dyb, n, Cublas.R_16BF, dwBeta, addr(dw), k);
            }
            DeviceMemory.touch(dx); // written after the twins were looked up (see linear)
            DeviceMemory.touch(dw);
        } else {
            // beta 0 where a deferred fill left dx or dW zero (DeviceMemory.deferZero): the same sums
            float dxBeta = dx != null && memory.takeZero(dx) ? 0f : 1f, dwBeta = memory.takeZero(dw) ? 0f : 1f;
            if (cublas != null) {
                // dx^T (k, m) += W^T (k, n) dy^T (n, m); dW^T (k, n) += x^T (k, m) dy (m, n), all column-major views
                if (dx != null) cublas.sgemm(Cublas.OP_N, Cublas.OP_N, k, m, n, 1f, addr(w), k, addr(dy), n, dxBeta, addr(dx), k);
                cublas.sgemm(Cublas.OP_N, Cublas.OP_T, k, n, m, 1f, addr(x), k, addr(dy), n, dwBeta, addr(dw), k);
            } else {
                if (dx != null) gemm.gemm(addr(dx), addr(dy), n, 1, addr(w), k, 1, m, k, n, dxBeta);
                gemm.gemm(addr(dw), addr(dy), 1, n, addr(x), k, 1, n, k, m, dwBeta);
            }
        }
        if (dBias != null) reduce.columnSums(addr(dBias), addr(dy), 0, 0, m, n);
    }

    @Override
    public void embedding(Tensor out, int[] ids, Tensor table) {
        int h = table.dim(1);
        Shapes.embedding(out, ids, table);
        context.current();
        if (ids.length == 0) return;
        CudaReplay rec = recording;
        try (DeviceMemory.Scratch s = memory.scratch()) {
            // recorded: the ids come from the replay's pinned copy of the array at each launch
            long dIds = rec == null ? s.upload(ids) : s.uploadAsync(rec.pinned(ids), ids.length * 4L);
            elementwise.embedding(addr(out), dIds, addr(table), ids.length, h);
        }
    }

    /**
     * A CUDA graph of body's work (see {@link Backend#record}); null when the system property
     * ssmtk.cuda.graphs is false. An operation that must wait for the device inside body (a read
     * back, a host copy) fails the capture, and record throws with the driver's reason.
     */
    @Override
    public Replay record(Runnable body, int[]... inputs) {
        if (!GRAPHS) return null;
        context.current();
        return CudaReplay.record(context, memory, body, inputs, r -> recording = r);
    }

    /**
     * Mamba-1's step in two kernels per layer (up to four sequences), recorded as a CUDA graph
     * ({@link CudaDecoder}); null (the step then runs op by op) for other mixers and with bf16
     * products, whose rounding the fused step's fp32 products would not reproduce.
     */
    @Override
    public DecodeStep decodeStep(org.ssmtk.core.backend.DecodePlan plan) {
        if (bf16) return null;
        context.current();
        return CudaDecoder.of(this, decode, elementwise, reduce, cublas, plan);
    }

    @Override
    public void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut) {
        int h = dTable.cols();
        Shapes.embeddingBackward(dTable, ids, dOut);
        context.current();
        if (ids.length == 0) return;
        try (DeviceMemory.Scratch s = memory.scratch()) {
            elementwise.embeddingBackward(addr(dTable), s.upload(ids), addr(dOut), ids.length, h);
        }
    }

    /**
     * Under bf16, outside recordings: where a kernel that writes all of t may also write t's bf16
     * values, the twin of t's storage (DeviceMemory.twinToWrite: only a storage that products read);
     * 0 otherwise. A product reading t next then finds them without a pass of its own.
     */
    long twinOut(Tensor t) {
        return bf16 && recording == null ? memory.twinToWrite(t) : 0;
    }

    @Override
    public void feedsProducts(Tensor t) {
        if (bf16 && recording == null) memory.wantTwin(t);
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps) {
        int m = x.rows2d(), h = x.cols();
        Shapes.rmsNorm(out, x, weight);
        context.current();
        long out16 = twinOut(out);
        reduce.rmsNorm(addr(out), out16, addr(x), addr(weight), m, h, eps);
        if (out16 != 0) memory.twinWritten(out);
    }

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, float eps) {
        int m = x.rows2d(), h = x.cols();
        Shapes.rmsNormBackward(dx, dWeight, dy, x, weight);
        context.current();
        if (m == 0) return;
        try (DeviceMemory.Scratch s = memory.scratch()) {
            int slabs = reduce.rmsBackwardSlabs(m);
            long part = s.floats((long) slabs * h), dx16 = twinOut(dx);
            reduce.rmsNormBackward(addr(dx), dx16, part, addr(dy), addr(x), addr(weight), m, h, eps);
            if (dx16 != 0) memory.twinWritten(dx);
            reduce.columnSums(addr(dWeight), part, 0, 0, slabs, h);
        }
    }

    @Override
    public void reverseSequences(Tensor out, Tensor in, int batch, int len, boolean reverseColumns) {
        int n = in.cols();
        if (in.rows2d() != batch * len || out.rows2d() != batch * len || out.cols() != n)
            throw new IllegalArgumentException("reverseSequences: " + out + " from " + in + " for batch " + batch + " x len " + len);
        long o = addr(out), i = addr(in), bytes = in.size() * 4;
        if (i < o + bytes && o < i + bytes) throw new IllegalArgumentException("reverseSequences: out overlaps in");
        context.current();
        reverse.reverse(o, i, batch, len, n, reverseColumns ? 1 : 0);
    }

    @Override
    public void causalConv1dSilu(Tensor out, Tensor x, Tensor weight, Tensor bias, Tensor convState, int batch, int len) {
        int ch = x.cols(), width = weight.cols();
        Shapes.conv1d(out, x, weight, convState, batch, len);
        context.current();
        long out16 = twinOut(out);
        conv.forward(addr(out), out16, addr(x), addr(weight), addr(bias), addr(convState), batch, len, ch, width);
        if (out16 != 0) memory.twinWritten(out);
    }

    @Override
    public void causalConv1dSiluBackward(Tensor dx, Tensor dWeight, Tensor dBias, Tensor dOut, Tensor x, Tensor weight,
                                         Tensor bias, int batch, int len) {
        int ch = x.cols(), width = weight.cols();
        if (width > conv.maxWidth())
            throw new IllegalArgumentException("cuda conv1d backward: width " + width + " is over " + conv.maxWidth());
        Shapes.conv1dBackward(dx, dWeight, dBias, dOut, x, weight, bias, batch, len);
        context.current();
        long rows = (long) batch * len;
        if (rows == 0 || ch == 0) return;
        boolean overwrite = memory.takeZero(dx); // zeroed by a deferred fill: nothing to add to
        try (DeviceMemory.Scratch s = memory.scratch()) {
            long partials = s.floats(conv.backwardScratch(addr(dx), addr(dOut), addr(x), batch, len, ch, width));
            long dx16 = twinOut(dx);
            conv.backward(addr(dx), dx16, overwrite, addr(dWeight), addr(dBias), partials, addr(dOut), addr(x), addr(weight),
                    addr(bias), batch, len, ch, width);
            if (dx16 != 0) memory.twinWritten(dx);
        }
    }

    // ---- the scan (CudaScan)

    @Override
    public void selectiveScan(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                              Tensor D, Tensor z, Tensor ssmState, int batch, int len) {
        scan.forward(y, u, delta, deltaBias, A, B, C, D, z, ssmState, null, batch, len);
    }

    @Override
    public void selectiveScanTraining(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                                      Tensor D, Tensor z, Tensor chunkStates, int batch, int len) {
        if (chunkStates == null) throw new IllegalArgumentException("selective scan training needs chunk states");
        scan.forward(y, u, delta, deltaBias, A, B, C, D, z, null, chunkStates, batch, len);
    }

    @Override
    public void selectiveScanBackward(Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB, Tensor dC,
                                      Tensor dD, Tensor dz, Tensor dOut, Tensor u, Tensor delta, Tensor deltaBias,
                                      Tensor A, Tensor B, Tensor C, Tensor D, Tensor z, Tensor chunkStates,
                                      int batch, int len) {
        scan.backward(du, dDelta, dDeltaBias, dA, dB, dC, dD, dz, dOut, u, delta, deltaBias, A, B, C, D, z, chunkStates,
                batch, len);
    }

    @Override
    public int scanChunk() {
        return scan.chunk();
    }

    // ---- Mamba-2 (CudaSsd)

    @Override
    public boolean supportsSsd() {
        return true;
    }

    @Override
    public void ssdScan(Tensor y, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                        Tensor ssmState, Tensor chunkStates, int batch, int len, SsdShape shape) {
        ssd.scan(y, x, dt, dtBias, A, B, C, D, ssmState, chunkStates, batch, len, shape);
    }

    @Override
    public void ssdScanBackward(Tensor dx, Tensor dDt, Tensor dDtBias, Tensor dA, Tensor dB, Tensor dC, Tensor dD,
                                Tensor dOut, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                                Tensor chunkStates, int batch, int len, SsdShape shape) {
        ssd.backward(dx, dDt, dDtBias, dA, dB, dC, dD, dOut, x, dt, dtBias, A, B, C, D, chunkStates, batch, len, shape);
    }

    @Override
    public void gatedRmsNorm(Tensor out, Tensor x, Tensor z, Tensor weight, int groupSize, float eps) {
        long out16 = twinOut(out);
        ssd.gatedRmsNorm(out, out16, x, z, weight, groupSize, eps);
        if (out16 != 0) memory.twinWritten(out);
    }

    @Override
    public void gatedRmsNormBackward(Tensor dx, Tensor dz, Tensor dWeight, Tensor dOut, Tensor x, Tensor z, Tensor weight,
                                     int groupSize, float eps) {
        ssd.gatedRmsNormBackward(dx, dz, dWeight, dOut, x, z, weight, groupSize, eps);
    }

    // ---- element-wise, sums, loss, optimizer

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        Shapes.sameSize("add", out, a, b);
        context.current();
        elementwise.add(addr(out), addr(a), addr(b), out.size());
    }

    @Override
    public void addProduct(Tensor out, Tensor a, Tensor b) {
        Shapes.sameSize("addProduct", out, a, b);
        context.current();
        elementwise.addProduct(addr(out), addr(a), addr(b), out.size());
    }

    @Override
    public void broadcastRows(Tensor out, Tensor row) {
        Shapes.broadcastRows(out, row);
        context.current();
        elementwise.broadcastRows(addr(out), addr(row), out.rows2d(), out.cols());
    }

    @Override
    public void addColumnSums(Tensor out, Tensor m) {
        Shapes.columnSums(out, m);
        context.current();
        reduce.columnSums(addr(out), addr(m), 0, 0, m.rows2d(), m.cols());
    }

    @Override
    public void negExp(Tensor out, Tensor x) {
        Shapes.sameSize("negExp", out, x);
        context.current();
        elementwise.negExp(addr(out), addr(x), out.size());
    }

    @Override
    public double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, Tensor dLogits, float scale) {
        int m = logits.rows2d(), v = logits.cols();
        Shapes.crossEntropy(logits, targets, dLogits);
        for (int t : targets)
            if (t != ignoreIndex && (t < 0 || t >= v)) throw new IllegalArgumentException("target " + t + " is outside [0, " + v + ")");
        context.current();
        if (m == 0) return 0;
        double[] losses = new double[m];
        try (DeviceMemory.Scratch s = memory.scratch()) {
            long dTargets = s.upload(targets);
            Tensor loss = s.tensor(2L * m);
            long d16 = twinOut(dLogits);
            reduce.crossEntropy(addr(logits), dTargets, ignoreIndex, addr(dLogits), d16, scale, addr(loss), m, v);
            if (d16 != 0) memory.twinWritten(dLogits);
            cuStreamSynchronize(context.stream);
            cuMemcpyDtoH(Pointer.to(losses), ptr(loss), 8L * m);
        }
        double total = 0;
        for (double l : losses) total += l;
        return total;
    }

    /**
     * Whole rows run crossEntropy's kernel, which also writes a gradient: into scratch, unread. Only
     * the losses come back, 8 bytes a row instead of the row's logits. A narrower width (a padded
     * vocabulary) reads the logits back (the default).
     */
    @Override
    public double[] crossEntropyRows(Tensor logits, int width, int[] targets) {
        int m = logits.rows2d(), v = logits.cols();
        Shapes.crossEntropyRows(logits, width, targets);
        if (width != v) return Backend.super.crossEntropyRows(logits, width, targets);
        context.current();
        double[] losses = new double[m];
        if (m == 0) return losses;
        int[] t = targets.clone();
        for (int r = 0; r < m; r++) if (t[r] < 0) t[r] = -1;
        try (DeviceMemory.Scratch s = memory.scratch()) {
            long dTargets = s.upload(t);
            Tensor loss = s.tensor(2L * m), unread = s.tensor((long) m * v);
            reduce.crossEntropy(addr(logits), dTargets, -1, addr(unread), 0, 1f, addr(loss), m, v);
            cuStreamSynchronize(context.stream);
            cuMemcpyDtoH(Pointer.to(losses), ptr(loss), 8L * m);
        }
        for (int r = 0; r < m; r++) if (t[r] < 0) losses[r] = Double.NaN;
        return losses;
    }

    @Override
    public int[] sample(Tensor logits, int vocabSize, double temperature, int topK, double[] uniforms) {
        int rows = logits.rows2d(), cols = logits.cols();
        TokenSampling.check(rows, cols, vocabSize, temperature, topK, uniforms);
        context.current();
        if (rows == 0) return new int[0];
        try (DeviceMemory.Scratch s = memory.scratch()) {
            long u = temperature == 0 ? 0 : s.upload(uniforms);
            long ids = s.floats(rows);
            reduce.sample(addr(logits), cols, rows, vocabSize, Double.doubleToRawLongBits(temperature), topK, u, ids);
            return s.downloadInts(ids, rows);
        }
    }

    @Override
    public double sumOfSquares(Tensor t) {
        context.current();
        double[] out = new double[1];
        try (DeviceMemory.Scratch s = memory.scratch()) {
            Tensor acc = s.tensor(2);
            cuMemsetD32Async(ptr(acc), 0, 2, context.stream);
            reduce.sumOfSquares(addr(t), t.size(), addr(acc));
            cuStreamSynchronize(context.stream);
            cuMemcpyDtoH(Pointer.to(out), ptr(acc), 8);
        }
        return out[0];
    }

    @Override
    public void scale(Tensor t, float factor) {
        context.current();
        elementwise.scale(addr(t), t.size(), factor);
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float bc1, float bc2) {
        Shapes.sameSize("adamW", param, grad, m, v);
        context.current();
        elementwise.adamW(addr(param), addr(grad), addr(m), addr(v), param.size(), lr, beta1, beta2, eps, weightDecay, bc1, bc2);
    }

    /** One launch over the table of every tensor. */
    @Override
    public void zero(List<Tensor> ts) {
        context.current();
        long table = zeroTable.upload(ts, ts, null, null, null, elementwise.multiChunk());
        if (zeroTable.blocks() > 0) elementwise.zeroMulti(table, ts.size(), zeroTable.blocks());
    }

    /** One launch over the table of every tensor (partial sums per chunk, added in order), then one wait. */
    @Override
    public double sumOfSquares(List<Tensor> ts) {
        context.current();
        long table = normTable.upload(null, ts, null, null, null, reduce.multiChunk());
        long blocks = normTable.blocks();
        if (blocks == 0) return 0;
        double[] out = new double[1];
        try (DeviceMemory.Scratch s = memory.scratch()) {
            long partials = s.bytes(8 * blocks);
            Tensor acc = s.tensor(2);
            reduce.sumOfSquares(table, ts.size(), blocks, partials, addr(acc));
            cuStreamSynchronize(context.stream);
            cuMemcpyDtoH(Pointer.to(out), ptr(acc), 8);
        }
        return out[0];
    }

    /** One launch over the table of every parameter, the clipping factor folded in. */
    @Override
    public void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, float[] weightDecay,
                      float gradScale, float lr, float beta1, float beta2, float eps, float bc1, float bc2) {
        Shapes.adamWLists(params, grads, m, v, weightDecay);
        int n = params.size();
        for (int i = 0; i < n; i++) Shapes.sameSize("adamW", params.get(i), grads.get(i), m.get(i), v.get(i));
        context.current();
        long table = adamTable.upload(params, grads, m, v, weightDecay, elementwise.multiChunk());
        if (adamTable.blocks() > 0)
            elementwise.adamWMulti(table, n, adamTable.blocks(), gradScale, lr, beta1, beta2, eps, bc1, bc2);
    }

    // ---- timing and memory, for the benchmarks

    /** Waits for all queued work. */
    public void synchronize() {
        context.synchronize();
    }

    /**
     * Switches per-kernel timing on or off (events around every launch and cuBLAS call; see
     * KernelTimes): the benchmarks' kernel table, {@link #kernelTimes}.
     */
    public void timeKernels(boolean on) {
        context.current();
        context.kernelTimes.enable(on);
    }

    /** The timed kernels' device milliseconds per step over steps steps, longest first; forgets them. */
    public List<String> kernelTimes(int steps) {
        context.current();
        return context.kernelTimes.table(steps);
    }

    /** Milliseconds of device time that the queued work of r takes, by events on the stream. */
    public float time(Runnable r) {
        return context.time(r);
    }

    /** Free and total device memory in bytes. */
    public long[] memory() {
        return context.memory();
    }

    /**
     * Where device memory goes, in bytes. {@code deviceUsed}: cuMemGetInfo's total - free now (this
     * process' context, cuBLAS' workspace and the pool's reservation, seen by the driver);
     * {@code deviceUsedPeak}: the same at the pool's high watermark (what the device held at the
     * peak: the memory outside the pool does not move while it runs); {@code poolReserved*}: what the
     * pool held from the system; {@code poolUsedPeak}: the most it had handed out at once;
     * {@code tensorsPeak}, {@code scratchPeak}: the most tensor storage and call scratch live at once.
     * Peaks count from {@link #resetMemoryPeaks}. Pool figures are -1 where the pool is not bound.
     */
    public record MemoryStats(long deviceTotal, long deviceUsed, long deviceUsedPeak, long poolReserved,
                              long poolReservedPeak, long poolUsedPeak, long tensorsLive, long tensorsPeak,
                              long scratchPeak) {}

    /** Memory now and at the peaks since the last {@link #resetMemoryPeaks}; waits for queued work first. */
    public MemoryStats memoryStats() {
        synchronize();
        long[] m = context.memory();
        long used = m[1] - m[0];
        MemPool pool = memory.pool;
        long reserved = pool == null ? -1 : pool.reservedBytes(), reservedPeak = pool == null ? -1 : pool.reservedPeakBytes();
        return new MemoryStats(m[1], used, pool == null ? used : used - reserved + reservedPeak, reserved, reservedPeak,
                pool == null ? -1 : pool.usedPeakBytes(), memory.liveBytes(), memory.livePeakBytes(), memory.scratchPeakBytes());
    }

    /** Restarts every peak of {@link #memoryStats} from the current values. */
    public void resetMemoryPeaks() {
        synchronize();
        memory.resetPeaks();
    }

    /**
     * Hands what the pool keeps beyond the live tensors back to the system (unreachable tensors are
     * collected first), so that cuMemGetInfo shows what is in use; for a process that leaves a
     * large step behind, and between benchmark rows.
     */
    public void trimMemory() {
        System.gc();
        try {
            Thread.sleep(100); // the Cleaner's thread queues the frees of what the collection found
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronize();
        if (memory.pool != null) memory.pool.trim(0);
    }

    @Override
    public void close() {
        if (context.isClosed()) return;
        cuCtxSetCurrent(context.ctx);
        cuStreamSynchronize(context.stream);
        memory.freeAll();
        cuStreamSynchronize(context.stream);
        if (cublas != null) cublas.close();
        context.close();
    }
}
