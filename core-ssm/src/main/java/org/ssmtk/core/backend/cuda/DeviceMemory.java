package org.ssmtk.core.backend.cuda;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import org.ssmtk.core.tensor.Storage;
import org.ssmtk.core.tensor.Tensor;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static jcuda.driver.JCudaDriver.*;

/**
 * Device memory of one context: tensor storage, freed in stream order either by {@link #release}
 * (the training step frees its activations, loss blocks and backward buffers so, the moment they
 * are dead) or, for what nobody releases, when the storage becomes unreachable (a Cleaner, which
 * runs only after a garbage collection: device memory the Java heap does not see). Scratch of one
 * call comes through {@link Scratch} and goes back at its close. Everything is drawn from the
 * device's default pool ({@link MemPool}), which keeps what is freed for the next allocation.
 */
final class DeviceMemory {
    private static final Cleaner CLEANER = Cleaner.create();

    /** A device pointer whose address we may read: the raw value is what cuBLAS and kernels take. */
    static final class DevPtr extends CUdeviceptr {
        long address() {
            return getNativePointer();
        }
    }

    /** Device memory of a tensor. */
    static final class CudaStorage implements Storage {
        final DevPtr ptr;
        final long address;
        final long capacity;
        /**
         * Moves at every access through {@link #storage} (every address a launch, copy or fill takes
         * goes through it): a bf16 twin converted at another count may be stale ({@link #bf16Twin}).
         */
        private final AtomicLong version = new AtomicLong();
        /** Frees the memory once (release or Cleaner, whichever comes first); null for scratch views. */
        private Cleaner.Cleanable cleanable;
        /** The memory's free action, which also holds the bf16 twin; null for scratch views. */
        private Free free;
        private volatile boolean released;

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

    /** The Cleaner's action: it holds the memory object and the pointer, never the storage or the backend. */
    private static final class Free implements Runnable {
        final DeviceMemory memory;
        final DevPtr ptr;
        final long bytes, id;
        /** Set for memory a CUDA graph allocated: the graph's own free node returns it, never this action. */
        volatile boolean graphOwned;
        /**
         * The storage's values rounded to bf16 (2 bytes each, the whole capacity), made outside any
         * recording, and the storage version and memory epoch it was converted at; null until a
         * bf16 product first reads the storage.
         */
        DevPtr twin;
        long twinVersion, twinEpoch;
        /** The storage is all zeros to whoever reads it next, and no memset has been queued yet ({@link #deferZero}). */
        volatile boolean pendingZero;
        long elements;

        Free(DeviceMemory memory, DevPtr ptr, long bytes, long id) {
            this.memory = memory;
            this.ptr = ptr;
            this.bytes = bytes;
            this.id = id;
        }

        @Override
        public void run() {
            memory.live.remove(id);
            memory.frees.remove(id);
            memory.liveBytes.addAndGet(-bytes);
            if (!graphOwned) memory.context.freeAsync(ptr);
            if (pendingZero) {
                pendingZero = false;
                memory.pending.remove(this);
            }
            if (twin != null) { // never a graph's: twins are made only outside recordings
                memory.liveBytes.addAndGet(-twinBytes());
                memory.context.freeAsync(twin);
                twin = null;
            }
        }

        long twinBytes() {
            return Math.max(4, bytes / 2);
        }
    }

    private final CudaContext context;
    /** The default pool with its release threshold raised; null where libcuda could not be bound (the driver's defaults then). */
    final MemPool pool;
    private final Map<Long, Cleaner.Cleanable> live = new ConcurrentHashMap<>();
    private final Map<Long, Free> frees = new ConcurrentHashMap<>();
    /** Ids of the storage allocated while a graph is being recorded (null when none is). */
    private volatile List<Long> recorded;
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong liveBytes = new AtomicLong(), livePeak = new AtomicLong();
    private final AtomicLong scratchBytes = new AtomicLong(), scratchPeak = new AtomicLong();
    /** Moves whenever work runs that went past {@link #storage} (a CUDA graph's replay): every twin is then stale. */
    private final AtomicLong epoch = new AtomicLong();
    /** The storages whose zeroing is deferred ({@link #deferZero}). */
    private final java.util.Set<Free> pending = ConcurrentHashMap.newKeySet();

    DeviceMemory(CudaContext context) {
        this.context = context;
        context.current();
        this.pool = MemPool.open(context.ordinal);
    }

    /**
     * t's storage, for an access that may write it: the storage's version moves, so that no bf16
     * twin converted before stays in use. Reads take this path too (a read cannot be told from a
     * write here); only {@link #bf16Twin} and the bf16 products' own reads go through {@link #peek}.
     */
    static CudaStorage storage(Tensor t) {
        CudaStorage s = peek(t);
        s.version.incrementAndGet();
        zeroNow(s);
        return s;
    }

    /** Queues the memset of a storage whose zeroing was deferred, before whatever takes its address. */
    private static void zeroNow(CudaStorage s) {
        Free f = s.free;
        if (f != null && f.pendingZero) f.memory.zeroNow(f);
    }

    private void zeroNow(Free f) {
        f.pendingZero = false;
        pending.remove(f);
        context.current();
        jcuda.driver.CUevent timed = context.kernelTimes.begin();
        cuMemsetD32Async(f.ptr, 0, f.elements, context.stream);
        if (timed != null) context.kernelTimes.end(timed, "memset (fill)");
    }

    /**
     * fill(t, 0) without a memset yet, where t is its whole storage (else false: the caller
     * zeroes it): the storage's next access through {@link #storage} queues the memset first, unless
     * {@link #takeZero} says first that a kernel that overwrites it comes next (a product with
     * beta 0, the conv's backward). Never while a graph is recorded (and {@link #startRecording}
     * queues every deferred memset first): a recording must find memory as it is.
     */
    boolean deferZero(Tensor t) {
        CudaStorage s = peek(t);
        Free f = s.free;
        if (t.offset() != 0 || t.size() != s.capacity || f == null || f.memory != this || f.graphOwned
                || recorded != null || s.capacity == 0) return false;
        s.version.incrementAndGet(); // a write: its twin is stale
        f.elements = s.capacity;
        f.pendingZero = true;
        pending.add(f);
        return true;
    }

    /**
     * Whether t is a whole storage whose zeroing is deferred; if so, it no longer is: the caller's
     * next kernel must write every element of t without reading it (as if on zeros).
     */
    boolean takeZero(Tensor t) {
        CudaStorage s = peek(t);
        Free f = s.free;
        if (f == null || !f.pendingZero || t.offset() != 0 || t.size() != s.capacity) return false;
        f.pendingZero = false;
        pending.remove(f);
        return true;
    }

    /** t's storage for a read that leaves its version alone. */
    private static CudaStorage peek(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s))
            throw new IllegalArgumentException("tensor " + t + " does not live on the cuda backend");
        if (s.released) throw new IllegalStateException("tensor " + t + " was released and is used again");
        return s;
    }

    /** The device address of t's first element, for a read that leaves its storage's version alone. */
    static long readAddr(Tensor t) {
        CudaStorage s = peek(t);
        zeroNow(s);
        return s.address + t.offset() * 4;
    }

    /** Marks t's storage written (its version moves), without taking an address. */
    static void touch(Tensor t) {
        if (t != null) storage(t);
    }

    /** Makes every bf16 twin stale: work ran that wrote device memory without passing {@link #storage}. */
    void invalidateTwins() {
        epoch.incrementAndGet();
    }

    /**
     * The address of t's values rounded to bf16, read from its storage's bf16 twin, which is
     * converted (the whole storage, once) when it is missing or stale: when the storage was accessed
     * through {@link #storage} since, or a graph replay ran since. 0 where t has no twin (a scratch
     * view, another context's storage): the caller rounds into its scratch. Never while a graph is
     * recorded: a recorded launch would read the twin as it is at each replay, not as converted now.
     */
    long bf16Twin(Tensor t, ElementwiseKernels elementwise) {
        CudaStorage s = peek(t);
        if (!twinnable(s)) return 0;
        zeroNow(s);
        Free f = s.free;
        long v = s.version.get(), e = epoch.get();
        if (f.twin == null) {
            makeTwin(f);
        } else if (f.twinVersion == v && f.twinEpoch == e) {
            return f.twin.address() + t.offset() * 2;
        }
        elementwise.toBf16(f.twin.address(), s.address, s.capacity);
        f.twinVersion = v;
        f.twinEpoch = e;
        return f.twin.address() + t.offset() * 2;
    }

    private boolean twinnable(CudaStorage s) {
        Free f = s.free;
        return f != null && f.memory == this && !f.graphOwned && recorded == null && s.capacity > 0;
    }

    private void makeTwin(Free f) {
        f.twin = rawAlloc(f.twinBytes());
        raise(liveBytes, livePeak, f.twinBytes());
    }

    /** Gives t's storage a (stale) bf16 twin now, so that the kernels writing it fill the twin too ({@link #twinToWrite}). */
    void wantTwin(Tensor t) {
        CudaStorage s = peek(t);
        if (twinnable(s) && s.free.twin == null) makeTwin(s.free);
    }

    /**
     * For a kernel about to write every element of t: the address (256-byte aligned) where it may
     * also write them rounded to bf16, the bf16 twin of t's storage, when t is the whole storage and
     * the storage has a twin already (a product read it before, or {@link #wantTwin}: storages no
     * product reads get none); 0 otherwise. Once the kernel is queued, {@link #twinWritten} marks
     * the twin current.
     */
    long twinToWrite(Tensor t) {
        CudaStorage s = peek(t);
        if (t.offset() != 0 || t.size() != s.capacity || !twinnable(s) || s.free.twin == null) return 0;
        return s.free.twin.address();
    }

    /**
     * The kernel just queued wrote all of t and, at {@link #twinToWrite}'s address, its bf16 values:
     * the twin is current as of the storage's version now (which that launch's addresses moved).
     */
    void twinWritten(Tensor t) {
        CudaStorage s = peek(t);
        s.free.twinVersion = s.version.get();
        s.free.twinEpoch = epoch.get();
    }

    /** The raw device address of a tensor's first element; 0 for null. */
    static long addr(Tensor t) {
        return t == null ? 0L : storage(t).address + t.offset() * 4;
    }

    static CUdeviceptr ptr(Tensor t) {
        return storage(t).ptr.withByteOffset(t.offset() * 4);
    }

    private DevPtr rawAlloc(long bytes) {
        DevPtr p = new DevPtr();
        for (int attempt = 0; ; attempt++) {
            try {
                cuMemAllocAsync(p, Math.max(4, bytes), context.stream);
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
                cuStreamSynchronize(context.stream);
            }
        }
    }

    private static void raise(AtomicLong current, AtomicLong peak, long delta) {
        long now = current.addAndGet(delta);
        peak.accumulateAndGet(now, Math::max);
    }

    /** Uninitialized storage of n floats, freed by {@link #release} or when it becomes unreachable. */
    CudaStorage newStorage(long elements) {
        context.current();
        long bytes = Math.max(4, elements * 4);
        DevPtr p = rawAlloc(bytes);
        long id = ids.incrementAndGet();
        raise(liveBytes, livePeak, bytes);
        CudaStorage s = new CudaStorage(p, elements);
        Free free = new Free(this, p, bytes, id);
        s.cleanable = CLEANER.register(s, free);
        s.free = free;
        live.put(id, s.cleanable);
        frees.put(id, free);
        List<Long> rec = recorded;
        if (rec != null) rec.add(id);
        return s;
    }

    /**
     * Frees t's whole storage now, in stream order: kernels already queued still read it, later
     * ones may not (every view of it then fails at its next use). Scratch views are not released here.
     */
    void release(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s) || s.cleanable == null) return;
        s.released = true;
        s.cleanable.clean();
    }

    /** Bytes of tensor storage not yet freed, and the most since {@link #resetPeaks}. */
    long liveBytes() {
        return liveBytes.get();
    }

    long livePeakBytes() {
        return livePeak.get();
    }

    /** Bytes of call scratch in use, and the most since {@link #resetPeaks}. */
    long scratchPeakBytes() {
        return scratchPeak.get();
    }

    /** Restarts the peaks (ours and the pool's) from now. */
    void resetPeaks() {
        livePeak.set(liveBytes.get());
        scratchPeak.set(scratchBytes.get());
        if (pool != null) pool.resetPeaks();
    }

    /** Starts noting the storage allocated: a stream capture begins. */
    void startRecording() {
        for (Free f : List.copyOf(pending)) if (f.pendingZero) zeroNow(f);
        recorded = new ArrayList<>();
    }

    /**
     * Ends the noting; returns how many of the noted storages are still live. Those belong to the
     * graph (its allocation nodes), so their Cleaner actions will not free them: a recording that
     * leaves any is refused by the caller.
     */
    int stopRecording() {
        List<Long> rec = recorded;
        recorded = null;
        int left = 0;
        for (long id : rec) {
            Free f = frees.get(id);
            if (f != null) {
                f.graphOwned = true;
                left++;
            }
        }
        return left;
    }

    /** Frees every live storage (closing the backend). */
    void freeAll() {
        for (Cleaner.Cleanable c : List.copyOf(live.values())) c.clean();
    }

    Scratch scratch() {
        return new Scratch();
    }

    /** Scratch of one call, freed in stream order once the call's kernels are queued (the pool keeps it for the next call). */
    final class Scratch implements AutoCloseable {
        private final List<DevPtr> ptrs = new ArrayList<>();
        private long bytes;

        /** n bytes; their address. */
        long bytes(long n) {
            long b = Math.max(4, n);
            DevPtr p = rawAlloc(b);
            ptrs.add(p);
            bytes += b;
            raise(scratchBytes, scratchPeak, b);
            return p.address();
        }

        /** n floats (or ints); their address. */
        long floats(long n) {
            return bytes(n * 4);
        }

        /** n floats as a flat tensor (at least one element), for the ops that take tensors. */
        Tensor tensor(long n) {
            floats(n);
            DevPtr p = ptrs.getLast();
            return new Tensor(new CudaStorage(p, Math.max(1, n)), 0, (int) Math.min(Integer.MAX_VALUE, Math.max(1, n)));
        }

        /** The ints on the device; their address. */
        long upload(int[] values) {
            long a = floats(values.length);
            cuStreamSynchronize(context.stream);
            cuMemcpyHtoD(ptrs.getLast(), Pointer.to(values), values.length * 4L);
            return a;
        }

        /** n bytes copied in stream order from pinned host memory (a recorded graph's input); their address. */
        long uploadAsync(Pointer pinned, long n) {
            long a = bytes(n);
            cuMemcpyHtoDAsync(ptrs.getLast(), pinned, n, context.stream);
            return a;
        }

        /** The doubles on the device; their address. */
        long upload(double[] values) {
            long a = bytes(values.length * 8L);
            cuStreamSynchronize(context.stream);
            cuMemcpyHtoD(ptrs.getLast(), Pointer.to(values), values.length * 8L);
            return a;
        }

        /** The n ints at the start of the buffer at address (one of this scratch's), once the queued work is done. */
        int[] downloadInts(long address, int n) {
            int[] out = new int[n];
            for (DevPtr p : ptrs)
                if (p.address() == address) {
                    cuStreamSynchronize(context.stream);
                    if (n > 0) cuMemcpyDtoH(Pointer.to(out), p, n * 4L);
                    return out;
                }
            throw new IllegalArgumentException("address " + address + " is not this scratch's");
        }

        @Override
        public void close() {
            for (DevPtr p : ptrs) context.freeAsync(p);
            scratchBytes.addAndGet(-bytes);
            ptrs.clear();
            bytes = 0;
        }
    }
}
