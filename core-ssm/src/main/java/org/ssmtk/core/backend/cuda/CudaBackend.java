package org.ssmtk.core.backend.cuda;

import jcuda.CudaException;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.Shapes;
import org.ssmtk.core.tensor.Storage;
import org.ssmtk.core.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static jcuda.driver.JCudaDriver.*;

/**
 * The CUDA backend: device memory, module load and kernel launches through JCuda's driver API, the
 * kernels of src/main/cuda/ssmtk.cu as committed PTX, and matrix products through cuBLAS (bound
 * with FFM, see {@link Cublas}) or, where no cuBLAS loads, a tiled kernel of our own. Everything
 * is queued on one stream; {@link #toHost} waits for it.
 *
 * <p>Device memory of a tensor is released when its storage becomes unreachable (a Cleaner queues
 * a stream-ordered free), and all of it when the backend closes.
 */
public final class CudaBackend implements Backend {
    /**
     * What the matrix products ({@link #linear}, {@link #linearBackward}) compute in. BF16 converts
     * both operands to bf16 and runs cublasGemmEx on the tensor cores with fp32 accumulation and
     * fp32 output; parameters (the master weights), activations, gradients, the scan, norms and the
     * optimizer stay fp32 either way.
     */
    public enum Precision {
        FP32, BF16;

        /** "fp32" or "bf16", as given to --precision. */
        public static Precision parse(String s) {
            return switch (s == null ? "" : s.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "fp32" -> FP32;
                case "bf16" -> BF16;
                default -> throw new IllegalArgumentException("--precision must be bf16 or fp32, got '" + s + "'");
            };
        }

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Kept scan states every this many steps; the kernels' SCAN_CHUNK. */
    public static final int SCAN_CHUNK = 64;
    private static final int SCAN_THREADS = 128;
    private static final int MAX_STATE = 16;
    private static final int CONV_MAX_WIDTH = 8;
    private static final String PTX = "ssmtk.ptx";
    private static final Cleaner CLEANER = Cleaner.create();
    /** The backward's block: four lanes per channel (the kernels' SCAN_BWD_THREADS, SCAN_BWD_CH, SCAN_SUB). */
    private static final int SCAN_BWD_THREADS = 128;
    private static final int SCAN_BWD_CH = SCAN_BWD_THREADS / 4;
    private static final int SCAN_SUB = 8;
    /** The one-pass forward's block: SEQ_CH channels, four lanes each (the kernels' SEQ_CH). */
    private static final int SEQ_CH = 32;
    private static final int SEQ_THREADS = SEQ_CH * 4;

    /**
     * Which forward scan runs. CHUNKED splits time into SCAN_CHUNK-step chunks run in parallel (three
     * kernels, every decay taken twice); ONE_PASS walks each sequence once per block of channels, which
     * is faster when batch x channel blocks alone fill the GPU and far slower when they do not. AUTO
     * (the default; system property ssmtk.cuda.scanForward) picks by that count.
     */
    public enum ScanForward { AUTO, CHUNKED, ONE_PASS }

    /** A device pointer whose address we may read: the raw value is what cuBLAS and kernels take. */
    static final class DevPtr extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    static final class RawStream extends CUstream {
        long address() {
            return getNativePointer();
        }
    }

    /** State shared with the Cleaner's free actions, which must not reach the backend itself. */
    private static final class Device {
        final CUcontext ctx;
        final RawStream stream;
        final Map<Long, Cleaner.Cleanable> live = new ConcurrentHashMap<>();
        final AtomicLong ids = new AtomicLong();
        volatile boolean closed;

        Device(CUcontext ctx, RawStream stream) {
            this.ctx = ctx;
            this.stream = stream;
        }
    }

    private record Free(Device dev, DevPtr ptr, long id) implements Runnable {
        @Override
        public void run() {
            dev.live.remove(id);
            synchronized (dev) {
                if (dev.closed) return;
                cuCtxSetCurrent(dev.ctx);
                cuMemFreeAsync(ptr, dev.stream);
            }
        }
    }

    /** Device memory of a tensor. */
    static final class CudaStorage implements Storage {
        final DevPtr ptr;
        final long address;
        final long capacity;

        CudaStorage(DevPtr ptr, long capacity) {
            this.ptr = ptr;
            this.address = ptr.address();
            this.capacity = capacity;
        }

        @Override
        public long capacity() {
            return capacity;
        }
    }

    private final Device dev;
    private final CUdevice device;
    private final CUmodule module;
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final java.util.Set<String> sharedRaised = new java.util.HashSet<>();
    private final Cublas cublas;
    private final boolean bf16;
    private final String description;
    private final int sms;
    private volatile ScanForward scanForward = ScanForward.valueOf(
            System.getProperty("ssmtk.cuda.scanForward", "auto").toUpperCase(java.util.Locale.ROOT).replace('-', '_'));

    private CudaBackend(int ordinal, Precision precision) {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] count = {0};
        cuDeviceGetCount(count);
        if (count[0] <= ordinal) throw new IllegalStateException("no CUDA device " + ordinal + " (" + count[0] + " found)");
        device = new CUdevice();
        cuDeviceGet(device, ordinal);
        CUcontext ctx = new CUcontext();
        // the primary context is the one the CUDA runtime (and so cuBLAS) uses on this device
        cuDevicePrimaryCtxRetain(ctx, device);
        cuCtxSetCurrent(ctx);
        RawStream stream = new RawStream();
        cuStreamCreate(stream, 0);
        dev = new Device(ctx, stream);
        module = new CUmodule();
        cuModuleLoadData(module, loadPtx());
        List<String> tried = new ArrayList<>();
        cublas = "0".equals(System.getenv("SSMTK_CUBLAS_ENABLE")) ? null : Cublas.open(stream.address(), tried);
        bf16 = precision == Precision.BF16;
        if (bf16 && cublas == null) {
            close();
            // the fallback kernel is fp32 only: running it would silently ignore the asked-for precision
            throw new IllegalStateException("--precision bf16 needs cuBLAS, and none loaded (tried " + tried.size() + " paths)");
        }
        sms = attribute(CUdevice_attribute_MULTIPROCESSOR_COUNT);
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, device);
        long[] mem = {0};
        cuDeviceTotalMem(mem, device);
        String devName = new String(name, StandardCharsets.UTF_8).trim().replace("\0", "");
        description = "cuda: " + devName + " (sm_" + attribute(CUdevice_attribute_COMPUTE_CAPABILITY_MAJOR)
                + attribute(CUdevice_attribute_COMPUTE_CAPABILITY_MINOR) + ", " + sms + " SMs, "
                + (mem[0] >> 30) + " GiB), kernels: PTX compute_80 via JCuda driver API, GEMM: "
                + (bf16 ? "cuBLAS bf16 tensor cores (cublasGemmEx, operands rounded to bf16 per call, fp32 accumulation"
                + " and output; master weights, activations, scan, norms and optimizer fp32; " + cublas.path() + ", FFM)"
                : cublas != null ? "cuBLAS fp32 (" + cublas.path() + ", FFM)"
                : "fallback tiled fp32 kernel (no cuBLAS loaded; tried " + tried.size() + " paths)");
    }

    // JCuda's attribute constants, spelled out so that the class reads without the enum import
    private static final int CUdevice_attribute_MULTIPROCESSOR_COUNT = 16;
    private static final int CUdevice_attribute_COMPUTE_CAPABILITY_MAJOR = 75;
    private static final int CUdevice_attribute_COMPUTE_CAPABILITY_MINOR = 76;

    private int attribute(int which) {
        int[] v = {0};
        cuDeviceGetAttribute(v, which, device);
        return v[0];
    }

    private static String loadPtx() {
        try (InputStream in = CudaBackend.class.getResourceAsStream(PTX)) {
            if (in == null) throw new IllegalStateException("PTX resource " + PTX + " is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + PTX + ": " + e.getMessage(), e);
        }
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
        String env = System.getenv("SSMTK_CUDA_DEVICE");
        int ordinal = 0;
        try {
            if (env != null && !env.isBlank()) ordinal = Integer.parseInt(env.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("SSMTK_CUDA_DEVICE must be a device number, got '" + env + "'");
        }
        try {
            return new CudaBackend(ordinal, precision);
        } catch (Throwable t) {
            String why = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage().lines().findFirst().orElse("");
            throw new IllegalArgumentException("--device cuda: no usable CUDA GPU (" + why + ")", t);
        }
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

    private void current() {
        if (dev.closed) throw new IllegalStateException("the cuda backend is closed");
        cuCtxSetCurrent(dev.ctx);
    }

    // ---- memory

    private DevPtr rawAlloc(long bytes) {
        DevPtr p = new DevPtr();
        for (int attempt = 0; ; attempt++) {
            try {
                cuMemAllocAsync(p, Math.max(4, bytes), dev.stream);
                return p;
            } catch (CudaException e) {
                if (attempt >= 3 || !String.valueOf(e.getMessage()).contains("OUT_OF_MEMORY")) throw e;
                // unreachable tensors hold device memory until the Cleaner sees them
                System.gc();
                try {
                    Thread.sleep(50L << attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                cuStreamSynchronize(dev.stream);
            }
        }
    }

    private CudaStorage newStorage(long elements) {
        current();
        DevPtr p = rawAlloc(elements * 4);
        CudaStorage s = new CudaStorage(p, elements);
        long id = dev.ids.incrementAndGet();
        dev.live.put(id, CLEANER.register(s, new Free(dev, p, id)));
        return s;
    }

    /**
     * Scratch buffers of finished calls, for reuse. The driver's stream-ordered pool would return
     * freed memory to the system at every synchronization (JCuda 12.6 cannot raise its release
     * threshold), making each scratch allocation a real one; one stream orders the reuse.
     */
    private final List<DevPtr> idle = new ArrayList<>();
    private final Map<DevPtr, Long> idleBytes = new HashMap<>();

    private synchronized DevPtr takeScratch(long bytes) {
        DevPtr best = null;
        for (DevPtr p : idle) {
            long cap = idleBytes.get(p);
            if (cap >= bytes && (best == null || cap < idleBytes.get(best))) best = p;
        }
        if (best != null) {
            idle.remove(best);
            return best;
        }
        DevPtr p;
        try {
            p = rawAlloc(bytes);
        } catch (CudaException e) {
            releaseIdle();
            p = rawAlloc(bytes);
        }
        idleBytes.put(p, Math.max(4, bytes));
        return p;
    }

    private synchronized void releaseIdle() {
        for (DevPtr p : idle) {
            cuMemFreeAsync(p, dev.stream);
            idleBytes.remove(p);
        }
        idle.clear();
    }

    /** Scratch of one call, handed back in stream order once the call's kernels are queued. */
    private final class Scratch implements AutoCloseable {
        final List<DevPtr> ptrs = new ArrayList<>();

        long floats(long n) {
            DevPtr p = takeScratch(n * 4);
            ptrs.add(p);
            return p.address();
        }

        /** n fp32 values of t rounded to bf16 in a scratch buffer; its address. */
        long bf16(Tensor t) {
            DevPtr p = takeScratch(t.size() * 2);
            ptrs.add(p);
            launch1d("f32_to_bf16", t.size(), p.address(), t, t.size());
            return p.address();
        }

        @Override
        public void close() {
            synchronized (CudaBackend.this) {
                idle.addAll(ptrs);
            }
        }
    }

    private static long[] shapeSize(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        return new long[]{n};
    }

    @Override
    public Tensor allocate(int... shape) {
        long n = shapeSize(shape)[0];
        CudaStorage s = newStorage(n);
        if (n > 0) cuMemsetD32Async(s.ptr, 0, n, dev.stream);
        return new Tensor(s, 0, shape);
    }

    /** Uninitialized device memory, for benchmarks that fill it themselves. */
    Tensor allocateUninitialized(int... shape) {
        return new Tensor(newStorage(shapeSize(shape)[0]), 0, shape);
    }

    @Override
    public Tensor fromHost(float[] data, int... shape) {
        long n = shapeSize(shape)[0];
        if (n != data.length) throw new IllegalArgumentException(data.length + " values for shape " + Arrays.toString(shape));
        CudaStorage s = newStorage(n);
        cuStreamSynchronize(dev.stream);
        if (n > 0) cuMemcpyHtoD(s.ptr, Pointer.to(data), n * 4);
        return new Tensor(s, 0, shape);
    }

    static CudaStorage storage(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s))
            throw new IllegalArgumentException("tensor " + t + " does not live on the cuda backend");
        return s;
    }

    /** The raw device address of a tensor's first element; 0 for null. */
    static long addr(Tensor t) {
        return t == null ? 0L : storage(t).address + t.offset() * 4;
    }

    private static CUdeviceptr ptr(Tensor t) {
        return storage(t).ptr.withByteOffset(t.offset() * 4);
    }

    @Override
    public float[] toHost(Tensor t) {
        current();
        if (t.size() > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(t + " does not fit in one Java array");
        float[] out = new float[(int) t.size()];
        cuStreamSynchronize(dev.stream);
        if (out.length > 0) cuMemcpyDtoH(Pointer.to(out), ptr(t), t.size() * 4);
        return out;
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        Shapes.copy(dst, src);
        current();
        if (src.size() > 0) cuMemcpyDtoDAsync(ptr(dst), ptr(src), src.size() * 4, dev.stream);
    }

    @Override
    public void fill(Tensor t, float value) {
        current();
        if (t.size() > 0) cuMemsetD32Async(ptr(t), Float.floatToRawIntBits(value), t.size(), dev.stream);
    }

    /** Uniform values in [lo, hi) drawn on the device from a seed. */
    void fillUniform(Tensor t, long seed, float lo, float hi) {
        current();
        launch1d("fill_uniform", t.size(), t, t.size(), seed, lo, hi);
    }

    // ---- launching

    private CUfunction function(String name) {
        return functions.computeIfAbsent(name, n -> {
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, module, n);
            return f;
        });
    }

    /**
     * Launches a kernel; arguments map to parameters by type: Tensor (or null) to a device address,
     * Long to a 64-bit integer, Integer to int, Float to float.
     */
    private void launch(String name, long gx, int gy, int bx, int by, Object... args) {
        if (gx <= 0 || gy <= 0) return;
        if (gx > Integer.MAX_VALUE) throw new IllegalArgumentException(name + ": grid of " + gx + " blocks");
        NativePointerObject[] params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) params[i] = param(args[i]);
        cuLaunchKernel(function(name), (int) gx, gy, 1, bx, by, 1, 0, dev.stream, Pointer.to(params), null);
    }

    private NativePointerObject param(Object a) {
        return switch (a) {
            case null -> Pointer.to(new long[]{0L});
            case Tensor t -> Pointer.to(new long[]{addr(t)});
            case Long l -> Pointer.to(new long[]{l});
            case Integer v -> Pointer.to(new int[]{v});
            case Float f -> Pointer.to(new float[]{f});
            case Double d -> Pointer.to(new float[]{d.floatValue()});
            default -> throw new IllegalArgumentException("kernel argument of type " + a.getClass());
        };
    }

    /** The backward's dynamic shared memory: the layout commented above scan_bwd in ssmtk.cu. */
    static int scanBwdSharedBytes(int nm) {
        return 4 * (2 * SCAN_CHUNK * nm + 5 * SCAN_CHUNK * SCAN_BWD_CH + SCAN_CHUNK / SCAN_SUB * (nm / 4) * SCAN_BWD_THREADS
                + 2 * SCAN_SUB * SCAN_BWD_THREADS);
    }

    /** A launch with dynamic shared memory; over 48 KB needs the function's limit raised first. */
    private void launchShared(String name, long gx, int gy, int bx, int sharedBytes, Object... args) {
        if (gx <= 0 || gy <= 0) return;
        CUfunction f = function(name);
        if (sharedBytes > 48 * 1024 && sharedRaised.add(name))
            cuFuncSetAttribute(f, jcuda.driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
        if (gx > Integer.MAX_VALUE) throw new IllegalArgumentException(name + ": grid of " + gx + " blocks");
        NativePointerObject[] params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) params[i] = param(args[i]);
        cuLaunchKernel(f, (int) gx, gy, 1, bx, 1, 1, sharedBytes, dev.stream, Pointer.to(params), null);
    }

    /** Grid-stride kernels: enough blocks to fill the device, no more. */
    private void launch1d(String name, long n, Object... args) {
        if (n <= 0) return;
        long blocks = Math.min((n + 255) / 256, (long) sms * 16);
        launch(name, blocks, 1, 256, 1, args);
    }

    // ---- layers

    @Override
    public void linear(Tensor out, Tensor x, Tensor w, Tensor bias) {
        Shapes.linear(out, x, w, bias);
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        current();
        if (m == 0 || n == 0) return;
        if (k == 0) {
            fill(out, 0f);
        } else if (bf16) {
            // the operands are rounded anew at every call: weights change at every optimizer step, and
            // a cache keyed on them would have to know when; the conversion is one pass over x and W
            try (Scratch s = new Scratch()) {
                long wb = s.bf16(w), xb = s.bf16(x);
                cublas.gemmEx(Cublas.OP_T, Cublas.OP_N, n, m, k, 1f, wb, k, xb, k, Cublas.R_16BF, 0f, addr(out), n);
            }
        } else if (cublas != null) {
            // row-major out (m, n) is column-major out^T (n, m) = W (x)^T with W^T stored as (k, n)
            cublas.sgemm(Cublas.OP_T, Cublas.OP_N, n, m, k, 1f, addr(w), k, addr(x), k, 0f, addr(out), n);
        } else {
            gemm(out, x, (long) k, 1L, w, 1L, (long) k, m, n, k, 0f);
        }
        if (bias != null) launch1d("add_bias_rows", (long) m * n, out, bias, (long) m, n);
    }

    private void gemm(Tensor c, Tensor a, long sai, long sap, Tensor b, long sbp, long sbj, int m, int n, int k, float beta) {
        launch("gemm_strided", (n + 15) / 16, (m + 15) / 16, 16, 16, c, a, b, m, n, k, sai, sap, sbp, sbj, beta);
    }

    @Override
    public void embedding(Tensor out, int[] ids, Tensor table) {
        int vocab = table.dim(0), h = table.dim(1);
        Shapes.embedding(out, ids, table);
        current();
        if (ids.length == 0) return;
        try (Scratch s = new Scratch()) {
            Tensor dIds = upload(s, ids);
            launch1d("embedding", (long) ids.length * h, out, dIds, table, (long) ids.length, h);
        }
    }

    /** Ints on the device, viewed as a tensor so that launch passes their address. */
    private Tensor upload(Scratch s, int[] values) {
        long a = s.floats(values.length);
        DevPtr p = s.ptrs.getLast();
        cuStreamSynchronize(dev.stream);
        cuMemcpyHtoD(p, Pointer.to(values), values.length * 4L);
        return new Tensor(new CudaStorage(p, values.length), 0, values.length);
    }

    @Override
    public void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps) {
        int m = x.rows2d(), h = x.cols();
        if (out.size() != x.size() || weight.size() != h) throw new IllegalArgumentException("rmsNorm: " + out + ", " + x + ", " + weight);
        current();
        launch("rms_norm", m, 1, 256, 1, out, x, weight, h, eps);
    }

    private static void sameSize(String op, Tensor... ts) {
        Shapes.sameSize(op, ts);
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        sameSize("add", out, a, b);
        current();
        launch1d("add_f32", out.size(), out, a, b, out.size());
    }

    @Override
    public void broadcastRows(Tensor out, Tensor row) {
        int n = out.cols();
        Shapes.broadcastRows(out, row);
        current();
        launch1d("broadcast_rows", out.size(), out, row, (long) out.rows2d(), n);
    }

    @Override
    public void addColumnSums(Tensor out, Tensor m) {
        Shapes.columnSums(out, m);
        current();
        columnSums(out, m, null, null, m.rows2d(), m.cols());
    }

    private void columnSums(Object out, Object m, Object m2, Object rowScale, long rows, int n) {
        if (rows == 0 || n == 0) return;
        int gx = (n + 31) / 32;
        long slices = Math.max(1, Math.min((4L * sms + gx - 1) / gx, (rows + 255) / 256));
        long per = (rows + slices - 1) / slices;
        slices = (rows + per - 1) / per;
        launch("column_sums", gx, (int) slices, 32, 8, out, m, m2, rowScale, rows, n, per);
    }

    @Override
    public void negExp(Tensor out, Tensor x) {
        sameSize("negExp", out, x);
        current();
        launch1d("neg_exp_f32", out.size(), out, x, out.size());
    }

    @Override
    public void causalConv1dSilu(Tensor out, Tensor x, Tensor weight, Tensor bias, Tensor convState, int batch, int len) {
        int ch = x.cols(), width = weight.cols();
        Shapes.conv1d(out, x, weight, convState, batch, len);
        current();
        launch1d("conv1d_silu", (long) batch * len * ch, out, x, weight, bias, convState, batch, len, ch, width);
        if (convState != null && width > 1)
            launch("conv1d_state_update", ((long) batch * ch + 127) / 128, 1, 128, 1, convState, x, batch, len, ch, width);
    }

    // ---- the scan

    private static int nmax(int n) {
        if (n <= 4) return 4;
        if (n <= 8) return 8;
        if (n <= MAX_STATE) return 16;
        throw new IllegalArgumentException("cuda selective scan: d_state " + n + " is over " + MAX_STATE
                + ", the most the kernels keep in registers; use --device cpu");
    }

    static int chunks(int len) {
        return (len + SCAN_CHUNK - 1) / SCAN_CHUNK;
    }

    private static void checkScan(Tensor y, Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor z,
                                  Tensor ssmState, Tensor chunkStates, int batch, int len) {
        Shapes.scan(y, u, delta, A, B, C, z, ssmState, chunkStates, batch, len, SCAN_CHUNK);
    }

    /** Sets which forward scan runs (tests run both; AUTO is the default). */
    public void scanForward(ScanForward path) {
        scanForward = java.util.Objects.requireNonNull(path);
    }

    /** Whether the forward takes one pass: batch x channel blocks give every SM at least two blocks. */
    boolean onePassForward(int batch, int ch) {
        return switch (scanForward) {
            case ONE_PASS -> true;
            case CHUNKED -> false;
            case AUTO -> (long) batch * ((ch + SEQ_CH - 1) / SEQ_CH) >= 2L * sms;
        };
    }

    private long scanGrid(int ch, int len) {
        return (long) ((ch + SCAN_THREADS - 1) / SCAN_THREADS) * chunks(len);
    }

    private void scanForward(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                             Tensor D, Tensor z, Tensor ssmState, Tensor chunkStates, int batch, int len) {
        checkScan(y, u, delta, A, B, C, z, ssmState, chunkStates, batch, len);
        scanForwardKernels("", y, u, delta, deltaBias, A, B, C, D, z, ssmState, chunkStates, batch, len, u.cols(), A.cols());
    }

    /** The forward's launches; kind "" runs the fp32 kernels, "bf16_" those with bf16 inputs and y. */
    private void scanForwardKernels(String kind, Object y, Object u, Object delta, Tensor deltaBias, Tensor A, Object B,
                                    Object C, Tensor D, Object z, Tensor ssmState, Tensor chunkStates, int batch, int len,
                                    int ch, int n) {
        int nm = nmax(n), nc = chunks(len);
        current();
        if (batch == 0 || len == 0 || ch == 0) return;
        if (onePassForward(batch, ch)) {
            // SCAN_CHUNK is a whole number of the kernel's tiles, so it writes every kept state itself
            launch("scan_seq_" + kind + nm, (ch + SEQ_CH - 1) / SEQ_CH, batch, SEQ_THREADS, 1, y, u, delta, deltaBias, A, B, C,
                    D, z, ssmState, ssmState, chunkStates, len, ch, n, nc);
            return;
        }
        long gx = scanGrid(ch, len);
        if (nc == 1) {
            if (chunkStates != null) fill(chunkStates, 0f);
            launch("scan_chunk_output_" + kind + nm, gx, batch, SCAN_THREADS, 1, y, u, delta, deltaBias, A, B, C, D, z,
                    ssmState, ssmState, len, ch, n, nc);
            return;
        }
        try (Scratch s = new Scratch()) {
            long states = (long) batch * nc * ch * n;
            Tensor local = scratchTensor(s, states), sumDt = scratchTensor(s, (long) batch * nc * ch);
            Tensor enter = chunkStates != null ? chunkStates : scratchTensor(s, states);
            launch("scan_chunk_local_" + kind + nm, gx, batch, SCAN_THREADS, 1, u, delta, deltaBias, A, B, local, sumDt, len, ch, n, nc);
            launch("scan_combine", ((long) ch * n + 127) / 128, batch, 128, 1, local, sumDt, A, ssmState, enter, ch, n, nc, 0);
            launch("scan_chunk_output_" + kind + nm, gx, batch, SCAN_THREADS, 1, y, u, delta, deltaBias, A, B, C, D, z,
                    enter, ssmState, len, ch, n, nc);
        }
    }

    private Tensor scratchTensor(Scratch s, long n) {
        s.floats(n);
        DevPtr p = s.ptrs.getLast();
        return new Tensor(new CudaStorage(p, Math.max(1, n)), 0, (int) Math.min(Integer.MAX_VALUE, Math.max(1, n)));
    }

    @Override
    public void selectiveScan(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                              Tensor D, Tensor z, Tensor ssmState, int batch, int len) {
        scanForward(y, u, delta, deltaBias, A, B, C, D, z, ssmState, null, batch, len);
    }

    @Override
    public void selectiveScanTraining(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                                      Tensor D, Tensor z, Tensor chunkStates, int batch, int len) {
        if (chunkStates == null) throw new IllegalArgumentException("selective scan training needs chunk states");
        scanForward(y, u, delta, deltaBias, A, B, C, D, z, null, chunkStates, batch, len);
    }

    @Override
    public int scanChunk() {
        return SCAN_CHUNK;
    }

    // ---- the scan with bf16 inputs: for ScanBench and CudaScanBf16Test, not part of Backend. A bf16
    // buffer is a Tensor whose fp32 storage holds two bf16 values per element (toBf16 makes one).

    /** t's n values rounded to bf16 (nearest even) in a new buffer of ceil(n / 2) fp32-sized elements. */
    Tensor toBf16(Tensor t) {
        Tensor out = allocateUninitialized((int) Math.max(1, (t.size() + 1) / 2));
        launch1d("f32_to_bf16", t.size(), out, t, t.size());
        return out;
    }

    /** The n bf16 values of a toBf16 buffer widened to fp32, shaped. */
    Tensor fromBf16(Tensor bf, int... shape) {
        Tensor out = allocateUninitialized(shape);
        launch1d("bf16_to_f32", out.size(), out, bf, out.size());
        return out;
    }

    /** The bf16 operands both scan directions share: y or dOut, u, delta, z (rows, ch); B, C (rows, n). */
    private static void checkBf16Inputs(String yName, Tensor yOrDOut, Tensor u, Tensor delta, Tensor z, Tensor B, Tensor C,
                                        long rows, int ch, int n) {
        checkBf16(yName, yOrDOut, rows * ch);
        checkBf16("u", u, rows * ch);
        checkBf16("delta", delta, rows * ch);
        checkBf16("z", z, rows * ch);
        checkBf16("B", B, rows * n);
        checkBf16("C", C, rows * n);
    }

    private static void checkBf16(String what, Tensor t, long elements) {
        if (t != null && t.size() != Math.max(1, (elements + 1) / 2))
            throw new IllegalArgumentException("bf16 scan: " + what + " holds " + t.size() + " pairs, not " + elements + " bf16 values");
    }

    /**
     * selectiveScanTraining with u, delta, B, C, z (and y out) in bf16; A, D, the bias, the state and
     * the arithmetic fp32. ch and n come from A (ch, n).
     */
    void selectiveScanTrainingBf16(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                                   Tensor D, Tensor z, Tensor chunkStates, int batch, int len) {
        int ch = A.rows2d(), n = A.cols();
        long rows = (long) batch * len;
        checkBf16Inputs("y", y, u, delta, z, B, C, rows, ch, n);
        if (chunkStates == null || chunkStates.size() != (long) batch * chunks(len) * ch * n)
            throw new IllegalArgumentException("bf16 scan: chunk states " + chunkStates);
        scanForwardKernels("bf16_", y, u, delta, deltaBias, A, B, C, D, z, null, chunkStates, batch, len, ch, n);
    }

    /** selectiveScanBackward with dOut, u, delta, B, C, z in bf16; every gradient fp32 and accumulated (+=). */
    void selectiveScanBackwardBf16(Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB, Tensor dC,
                                   Tensor dD, Tensor dz, Tensor dOut, Tensor u, Tensor delta, Tensor deltaBias,
                                   Tensor A, Tensor B, Tensor C, Tensor D, Tensor z, Tensor chunkStates,
                                   int batch, int len) {
        int ch = A.rows2d(), n = A.cols();
        long rows = (long) batch * len;
        checkBf16Inputs("dOut", dOut, u, delta, z, B, C, rows, ch, n);
        Shapes.scanGradients(deltaBias, dDeltaBias, D, dD, z, dz);
        if (du.size() != rows * ch || dDelta.size() != rows * ch || (dz != null && dz.size() != rows * ch)
                || dA.size() != (long) ch * n || dB.size() != rows * n || dC.size() != rows * n
                || chunkStates.size() != (long) batch * chunks(len) * ch * n)
            throw new IllegalArgumentException("bf16 scan backward: inconsistent gradient or state sizes");
        scanBackwardKernels("bf16_", du, dDelta, dDeltaBias, dA, dB, dC, dD, dz, dOut, u, delta, deltaBias, A, B, C, D, z,
                chunkStates, batch, len, ch, n);
    }

    @Override
    public void selectiveScanBackward(Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB, Tensor dC,
                                      Tensor dD, Tensor dz, Tensor dOut, Tensor u, Tensor delta, Tensor deltaBias,
                                      Tensor A, Tensor B, Tensor C, Tensor D, Tensor z, Tensor chunkStates,
                                      int batch, int len) {
        checkScan(dOut, u, delta, A, B, C, z, null, chunkStates, batch, len);
        Shapes.scanGradients(deltaBias, dDeltaBias, D, dD, z, dz);
        int ch = u.cols(), n = A.cols();
        sameSize("scan backward du", du, u);
        sameSize("scan backward dDelta", dDelta, u);
        sameSize("scan backward dA", dA, A);
        sameSize("scan backward dB", dB, B);
        sameSize("scan backward dC", dC, C);
        scanBackwardKernels("", du, dDelta, dDeltaBias, dA, dB, dC, dD, dz, dOut, u, delta, deltaBias, A, B, C, D, z,
                chunkStates, batch, len, ch, n);
    }

    /** The backward's launches; kind "" runs the fp32 kernel, "bf16_" the one with bf16 inputs (fp32 gradients). */
    private void scanBackwardKernels(String kind, Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB,
                                     Tensor dC, Tensor dD, Tensor dz, Object dOut, Object u, Object delta, Tensor deltaBias,
                                     Tensor A, Object B, Object C, Tensor D, Object z, Tensor chunkStates, int batch,
                                     int len, int ch, int n) {
        int nm = nmax(n), nc = chunks(len);
        current();
        if (batch == 0 || len == 0 || ch == 0) return;
        int groups = (ch + SCAN_BWD_CH - 1) / SCAN_BWD_CH;
        long blocks = (long) groups * nc * batch;
        try (Scratch s = new Scratch()) {
            // look-back publications per block (its lanes' states) and the ticket counter + flags, zeroed
            Tensor lbAgg = scratchTensor(s, blocks * SCAN_BWD_THREADS * (nm / 4)), lbIncl = scratchTensor(s, blocks * SCAN_BWD_THREADS * (nm / 4));
            Tensor lbSdt = scratchTensor(s, blocks * SCAN_BWD_CH), lbFlag = scratchTensor(s, blocks + 1);
            fill(lbFlag, 0f);
            Tensor partA = scratchTensor(s, (long) batch * nc * ch * n);
            Tensor partD = D == null ? null : scratchTensor(s, (long) batch * nc * ch);
            Tensor partBias = deltaBias == null ? null : scratchTensor(s, (long) batch * nc * ch);
            launchShared("scan_bwd_" + kind + nm, (long) groups * nc, batch, SCAN_BWD_THREADS, scanBwdSharedBytes(nm), du, dDelta, dz, dB, dC, partA, partD, partBias,
                    dOut, u, delta, deltaBias, A, B, C, D, z, chunkStates, lbAgg, lbIncl, lbSdt, lbFlag, len, ch, n, nc);
            columnSums(dA, partA, null, null, (long) batch * nc, ch * n);
            if (partD != null) columnSums(dD, partD, null, null, (long) batch * nc, ch);
            if (partBias != null) columnSums(dDeltaBias, partBias, null, null, (long) batch * nc, ch);
        }
    }

    // ---- backward

    @Override
    public void linearBackward(Tensor dx, Tensor dw, Tensor dBias, Tensor dy, Tensor x, Tensor w) {
        Shapes.linearBackward(dx, dw, dy, x, w);
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        current();
        if (m == 0 || n == 0 || k == 0) return;
        if (bf16) {
            // the same products as below on bf16 copies; dx and dW accumulate in fp32 (beta 1, fp32 C)
            try (Scratch s = new Scratch()) {
                long dyb = s.bf16(dy);
                if (dx != null)
                    cublas.gemmEx(Cublas.OP_N, Cublas.OP_N, k, m, n, 1f, s.bf16(w), k, dyb, n, Cublas.R_16BF, 1f, addr(dx), k);
                cublas.gemmEx(Cublas.OP_N, Cublas.OP_T, k, n, m, 1f, s.bf16(x), k, dyb, n, Cublas.R_16BF, 1f, addr(dw), k);
            }
        } else if (cublas != null) {
            // dx^T (k, m) += W^T (k, n) dy^T (n, m); dW^T (k, n) += x^T (k, m) dy (m, n), all column-major views
            if (dx != null) cublas.sgemm(Cublas.OP_N, Cublas.OP_N, k, m, n, 1f, addr(w), k, addr(dy), n, 1f, addr(dx), k);
            cublas.sgemm(Cublas.OP_N, Cublas.OP_T, k, n, m, 1f, addr(x), k, addr(dy), n, 1f, addr(dw), k);
        } else {
            if (dx != null) gemm(dx, dy, n, 1, w, k, 1, m, k, n, 1f);
            gemm(dw, dy, 1, n, x, k, 1, n, k, m, 1f);
        }
        if (dBias != null) columnSums(dBias, dy, null, null, m, n);
    }

    @Override
    public void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut) {
        int h = dTable.cols(), vocab = dTable.dim(0);
        for (int id : ids)
            if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
        current();
        if (ids.length == 0) return;
        try (Scratch s = new Scratch()) {
            launch1d("embedding_backward", (long) ids.length * h, dTable, upload(s, ids), dOut, (long) ids.length, h);
        }
    }

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, float eps) {
        int m = x.rows2d(), h = x.cols();
        sameSize("rmsNorm backward", dx, dy, x);
        current();
        if (m == 0) return;
        try (Scratch s = new Scratch()) {
            Tensor inv = scratchTensor(s, m);
            launch("rms_norm_backward", m, 1, 256, 1, dx, inv, dy, x, weight, h, eps);
            columnSums(dWeight, dy, x, inv, m, h);
        }
    }

    @Override
    public void causalConv1dSiluBackward(Tensor dx, Tensor dWeight, Tensor dBias, Tensor dOut, Tensor x, Tensor weight,
                                         Tensor bias, int batch, int len) {
        int ch = x.cols(), width = weight.cols();
        if (width > CONV_MAX_WIDTH) throw new IllegalArgumentException("cuda conv1d backward: width " + width + " is over " + CONV_MAX_WIDTH);
        sameSize("conv1d backward", dx, dOut, x);
        current();
        long rows = (long) batch * len;
        if (rows == 0 || ch == 0) return;
        try (Scratch s = new Scratch()) {
            Tensor dPre = scratchTensor(s, rows * ch);
            launch1d("conv1d_silu_dpre", rows * ch, dPre, dOut, x, weight, bias, batch, len, ch, width);
            launch1d("conv1d_dx", rows * ch, dx, dPre, weight, batch, len, ch, width);
            int gx = (ch + 127) / 128;
            long slices = Math.max(1, Math.min((8L * sms + gx - 1) / gx, (rows + 63) / 64));
            long per = (rows + slices - 1) / slices;
            slices = (rows + per - 1) / per;
            launch("conv1d_dweight", gx, (int) slices, 128, 1, dWeight, dBias, dPre, x, batch, len, ch, width, per);
        }
    }

    @Override
    public void addProduct(Tensor out, Tensor a, Tensor b) {
        sameSize("addProduct", out, a, b);
        current();
        launch1d("add_product_f32", out.size(), out, a, b, out.size());
    }

    @Override
    public double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, Tensor dLogits, float scale) {
        int m = logits.rows2d(), v = logits.cols();
        if (targets.length != m) throw new IllegalArgumentException(targets.length + " targets for " + m + " rows of logits");
        for (int t : targets)
            if (t != ignoreIndex && (t < 0 || t >= v)) throw new IllegalArgumentException("target " + t + " is outside [0, " + v + ")");
        sameSize("crossEntropy", logits, dLogits);
        current();
        if (m == 0) return 0;
        double[] losses = new double[m];
        try (Scratch s = new Scratch()) {
            Tensor dTargets = upload(s, targets);
            Tensor loss = scratchTensor(s, 2L * m);
            launch("cross_entropy", m, 1, 256, 1, logits, dTargets, ignoreIndex, dLogits, scale, loss, v);
            cuStreamSynchronize(dev.stream);
            cuMemcpyDtoH(Pointer.to(losses), storage(loss).ptr, 8L * m);
        }
        double total = 0;
        for (double l : losses) total += l;
        return total;
    }

    // ---- optimizer support

    @Override
    public double sumOfSquares(Tensor t) {
        current();
        double[] out = new double[1];
        try (Scratch s = new Scratch()) {
            Tensor acc = scratchTensor(s, 2);
            cuMemsetD32Async(storage(acc).ptr, 0, 2, dev.stream);
            launch1d("sum_of_squares", t.size(), t, t.size(), acc);
            cuStreamSynchronize(dev.stream);
            cuMemcpyDtoH(Pointer.to(out), storage(acc).ptr, 8);
        }
        return out[0];
    }

    @Override
    public void scale(Tensor t, float factor) {
        current();
        launch1d("scale_f32", t.size(), t, t.size(), factor);
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float bc1, float bc2) {
        sameSize("adamW", param, grad, m, v);
        current();
        launch1d("adamw_f32", param.size(), param, grad, m, v, param.size(), lr, beta1, beta2, eps, weightDecay, bc1, bc2);
    }

    // ---- timing, for the benchmark

    /** Waits for all queued work. */
    public void synchronize() {
        current();
        cuStreamSynchronize(dev.stream);
    }

    /** Milliseconds of device time that the queued work of r takes, by events on the stream. */
    float time(Runnable r) {
        current();
        CUevent a = new CUevent(), b = new CUevent();
        cuEventCreate(a, 0);
        cuEventCreate(b, 0);
        try {
            cuEventRecord(a, dev.stream);
            r.run();
            cuEventRecord(b, dev.stream);
            cuEventSynchronize(b);
            float[] ms = {0};
            cuEventElapsedTime(ms, a, b);
            return ms[0];
        } finally {
            cuEventDestroy(a);
            cuEventDestroy(b);
        }
    }

    /** Free and total device memory in bytes. */
    public long[] memory() {
        current();
        long[] free = {0}, total = {0};
        cuMemGetInfo(free, total);
        return new long[]{free[0], total[0]};
    }

    @Override
    public void close() {
        if (dev.closed) return;
        cuCtxSetCurrent(dev.ctx);
        cuStreamSynchronize(dev.stream);
        for (Cleaner.Cleanable c : List.copyOf(dev.live.values())) c.clean();
        releaseIdle();
        cuStreamSynchronize(dev.stream);
        if (cublas != null) cublas.close();
        synchronized (dev) {
            dev.closed = true;
        }
        cuModuleUnload(module);
        cuStreamDestroy(dev.stream);
        cuDevicePrimaryCtxRelease(device);
    }
}
