package org.ssmtk.core.backend.cuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static jcuda.driver.JCudaDriver.*;

/**
 * One device's primary context, the one stream everything is queued on, and the kernel modules
 * (the committed PTX of every .cu beside the launchers, loaded once). Launches go through
 * {@link #launch}, which the typed launchers call with checked {@link Args}.
 */
final class CudaContext implements Launcher, AutoCloseable {
    /** The PTX modules, one per kernel file: what {@link #open} loads. */
    static final List<String> MODULES = List.of(ElementwiseKernels.MODULE, ReductionKernels.MODULE, Conv1dKernels.MODULE,
            GemmKernel.MODULE, ScanForwardKernels.MODULE, ScanBackwardKernels.MODULE, SsdKernels.MODULE, ReverseKernels.MODULE,
            DecodeKernels.MODULE);

    /** A stream whose address we may read: cuBLAS is bound to the same stream. */
    static final class RawStream extends CUstream {
        long address() {
            return getNativePointer();
        }
    }

    // JCuda's attribute constants, spelled out so that the class reads without the enum import
    private static final int CUdevice_attribute_MULTIPROCESSOR_COUNT = 16;
    private static final int CUdevice_attribute_COMPUTE_CAPABILITY_MAJOR = 75;
    private static final int CUdevice_attribute_COMPUTE_CAPABILITY_MINOR = 76;

    final int ordinal;
    final CUdevice device;
    final CUcontext ctx;
    final RawStream stream;
    private final Map<String, CUmodule> modules = new LinkedHashMap<>();
    private final Map<String, PtxModule> ptx = new HashMap<>();
    // by identity: each Kernel is a launcher's constant, and a record's hashCode walks its parameters
    private final Map<Kernel, CUfunction> functions = new IdentityHashMap<>();
    /** The dynamic shared memory each kernel may take: 48 KB less its static part, or what its limit was raised to (the SSD kernels' grows with the chunk). */
    private final Map<Kernel, Integer> sharedRaised = new IdentityHashMap<>();
    private final int sms;
    /** Per-kernel device times while switched on (ModelBench kernels=N); every launch and cuBLAS call checks it. */
    final KernelTimes kernelTimes;
    /** Set under this object's lock; the memory's Cleaner actions read it under the same lock. */
    private boolean closed;

    private CudaContext(int ordinal) {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] count = {0};
        cuDeviceGetCount(count);
        if (count[0] <= ordinal) throw new IllegalStateException("no CUDA device " + ordinal + " (" + count[0] + " found)");
        this.ordinal = ordinal;
        device = new CUdevice();
        cuDeviceGet(device, ordinal);
        ctx = new CUcontext();
        // the primary context is the one the CUDA runtime (and so cuBLAS) uses on this device
        cuDevicePrimaryCtxRetain(ctx, device);
        cuCtxSetCurrent(ctx);
        stream = new RawStream();
        cuStreamCreate(stream, 0);
        sms = attribute(CUdevice_attribute_MULTIPROCESSOR_COUNT);
        kernelTimes = new KernelTimes(stream);
    }

    /** Devices the driver sees. */
    static int deviceCount() {
        JCudaDriver.setExceptionsEnabled(true);
        cuInit(0);
        int[] count = {0};
        cuDeviceGetCount(count);
        return count[0];
    }

    /** A second stream in this context (collectives run on one, beside the compute stream). */
    RawStream newStream() {
        current();
        RawStream s = new RawStream();
        cuStreamCreate(s, 0);
        return s;
    }

    /** An event without timing, for ordering one stream behind another. */
    CUevent newEvent() {
        current();
        CUevent e = new CUevent();
        cuEventCreate(e, jcuda.driver.CUevent_flags.CU_EVENT_DISABLE_TIMING);
        return e;
    }

    /** Work queued on {@code waiter} from now on starts after everything queued on {@code first} so far. */
    void order(CUstream waiter, CUstream first, CUevent via) {
        current();
        cuEventRecord(via, first);
        cuStreamWaitEvent(waiter, via, 0);
    }

    /** Device ordinal's context with every kernel module loaded. */
    static CudaContext open(int ordinal) {
        CudaContext c = new CudaContext(ordinal);
        try {
            for (String name : MODULES) {
                PtxModule m = PtxModule.load(name);
                CUmodule module = new CUmodule();
                cuModuleLoadData(module, m.text());
                c.modules.put(name, module);
                c.ptx.put(name, m);
            }
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private int attribute(int which) {
        int[] v = {0};
        cuDeviceGetAttribute(v, which, device);
        return v[0];
    }

    /** "NAME (sm_XY, N SMs, G GiB)". */
    String describeDevice() {
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, device);
        long[] mem = {0};
        cuDeviceTotalMem(mem, device);
        String devName = new String(name, StandardCharsets.UTF_8).trim().replace("\0", "");
        return devName + " (sm_" + attribute(CUdevice_attribute_COMPUTE_CAPABILITY_MAJOR)
                + attribute(CUdevice_attribute_COMPUTE_CAPABILITY_MINOR) + ", " + sms + " SMs, " + (mem[0] >> 30) + " GiB)";
    }

    /** Makes the context current on this thread; fails once closed. */
    void current() {
        if (isClosed()) throw new IllegalStateException("the cuda backend is closed");
        cuCtxSetCurrent(ctx);
    }

    synchronized boolean isClosed() {
        return closed;
    }

    /**
     * Queues a stream-ordered free, unless the context is closed (its memory went with it). Called
     * from Cleaner threads too, hence the lock that {@link #close} takes to set closed.
     */
    synchronized void freeAsync(CUdeviceptr p) {
        if (closed) return;
        cuCtxSetCurrent(ctx);
        cuMemFreeAsync(p, stream);
    }

    @Override
    public int multiprocessors() {
        return sms;
    }

    @Override
    public PtxModule module(String resource) {
        PtxModule m = ptx.get(resource);
        if (m == null) throw new IllegalStateException("PTX module " + resource + " is not loaded");
        return m;
    }

    private CUfunction function(Kernel k) {
        return functions.computeIfAbsent(k, kernel -> {
            CUmodule module = modules.get(kernel.module());
            if (module == null) throw new IllegalStateException("PTX module " + kernel.module() + " is not loaded");
            CUfunction f = new CUfunction();
            cuModuleGetFunction(f, module, kernel.name());
            return f;
        });
    }

    /** Bytes of static shared memory the function declares. */
    private static int staticShared(CUfunction f) {
        int[] bytes = {0};
        cuFuncGetAttribute(bytes, CUfunction_attribute.CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f);
        return bytes[0];
    }

    @Override
    public void launch(long gx, int gy, int bx, int by, int sharedBytes, Args args) {
        long[] values = args.values();
        Kernel k = args.kernel();
        if (gx <= 0 || gy <= 0) return;
        if (gx > Integer.MAX_VALUE) throw new IllegalArgumentException(k.name() + ": grid of " + gx + " blocks");
        CUfunction f = function(k);
        // over 48 KB of shared memory in all, static and dynamic, needs the function's dynamic limit raised first
        if (sharedBytes > sharedRaised.computeIfAbsent(k, kernel -> 48 * 1024 - staticShared(f))) {
            cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
            sharedRaised.put(k, sharedBytes);
        }
        NativePointerObject[] params = new NativePointerObject[values.length];
        for (int i = 0; i < values.length; i++) {
            long v = values[i];
            params[i] = switch (k.params().get(i)) {
                case PTR, I64 -> Pointer.to(new long[]{v});
                case I32 -> Pointer.to(new int[]{(int) v});
                case F32 -> Pointer.to(new float[]{Float.intBitsToFloat((int) v)});
            };
        }
        CUevent timed = kernelTimes.begin();
        cuLaunchKernel(f, (int) gx, gy, 1, bx, by, 1, sharedBytes, stream, Pointer.to(params), null);
        if (timed != null) kernelTimes.end(timed, k.name());
    }

    /** Waits for all queued work. */
    void synchronize() {
        current();
        cuStreamSynchronize(stream);
    }

    /** Milliseconds of device time that the queued work of r takes, by events on the stream. */
    float time(Runnable r) {
        current();
        CUevent a = new CUevent(), b = new CUevent();
        cuEventCreate(a, 0);
        cuEventCreate(b, 0);
        try {
            cuEventRecord(a, stream);
            r.run();
            cuEventRecord(b, stream);
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
    long[] memory() {
        current();
        long[] free = {0}, total = {0};
        cuMemGetInfo(free, total);
        return new long[]{free[0], total[0]};
    }

    /** Unloads the modules and releases the stream and context; device memory must be freed first. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        cuCtxSetCurrent(ctx);
        kernelTimes.destroy();
        for (CUmodule m : modules.values()) cuModuleUnload(m);
        cuStreamDestroy(stream);
        cuDevicePrimaryCtxRelease(device);
    }
}
