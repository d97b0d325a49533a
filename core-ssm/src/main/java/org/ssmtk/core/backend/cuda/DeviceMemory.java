package org.ssmtk.core.backend.cuda;

import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import org.ssmtk.core.tensor.Storage;
import org.ssmtk.core.tensor.Tensor;

import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static jcuda.driver.JCudaDriver.*;

/**
 * Device memory of one context: tensor storage, freed in stream order when the storage becomes
 * unreachable (a Cleaner) and all of it at {@link #freeAll}, and a pool of scratch buffers that the
 * calls borrow through {@link Scratch}.
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

    /** The Cleaner's action: it holds the context and the pointer, never the storage or the backend. */
    private record Free(CudaContext context, Map<Long, Cleaner.Cleanable> live, DevPtr ptr, long id) implements Runnable {
        @Override
        public void run() {
            live.remove(id);
            context.freeAsync(ptr);
        }
    }

    private final CudaContext context;
    private final Map<Long, Cleaner.Cleanable> live = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    /**
     * Scratch buffers of finished calls, for reuse. The driver's stream-ordered pool would return
     * freed memory to the system at every synchronization (JCuda 12.6 cannot raise its release
     * threshold), making each scratch allocation a real one; one stream orders the reuse.
     */
    private final List<DevPtr> idle = new ArrayList<>();
    private final Map<DevPtr, Long> idleBytes = new HashMap<>();

    DeviceMemory(CudaContext context) {
        this.context = context;
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

    /** Uninitialized storage of n floats, freed when it becomes unreachable. */
    CudaStorage newStorage(long elements) {
        context.current();
        DevPtr p = rawAlloc(elements * 4);
        CudaStorage s = new CudaStorage(p, elements);
        long id = ids.incrementAndGet();
        live.put(id, CLEANER.register(s, new Free(context, live, p, id)));
        return s;
    }

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
            cuMemFreeAsync(p, context.stream);
            idleBytes.remove(p);
        }
        idle.clear();
    }

    /** Frees every live storage and the scratch pool (closing the backend). */
    void freeAll() {
        for (Cleaner.Cleanable c : List.copyOf(live.values())) c.clean();
        releaseIdle();
    }

    Scratch scratch() {
        return new Scratch();
    }

    /** Scratch of one call, handed back in stream order once the call's kernels are queued. */
    final class Scratch implements AutoCloseable {
        private final List<DevPtr> ptrs = new ArrayList<>();

        /** n bytes; their address. */
        long bytes(long n) {
            DevPtr p = takeScratch(n);
            ptrs.add(p);
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

        @Override
        public void close() {
            synchronized (DeviceMemory.this) {
                idle.addAll(ptrs);
            }
        }
    }
}
