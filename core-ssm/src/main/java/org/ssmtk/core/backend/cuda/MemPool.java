package org.ssmtk.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The device's default stream-ordered memory pool (the one cuMemAllocAsync draws from), bound
 * through FFM because JCuda 12.6 has no cuDeviceGetDefaultMemPool nor cuMemPool{Set,Get}Attribute.
 *
 * <p>Its release threshold is raised to "keep everything": at the default of 0 the driver hands
 * every freed byte back to the system at each synchronization, so each training step would map its
 * activations anew. Kept memory is not lost: the pool reuses it for the next allocation, and what
 * it holds is the high watermark of what was live, which {@link #trim} gives back (between
 * benchmark rows, or when an allocation fails). The counters are the driver's own.
 */
final class MemPool {
    // CUmemPool_attribute (cuda.h)
    private static final int RELEASE_THRESHOLD = 4, RESERVED_CURRENT = 5, RESERVED_HIGH = 6, USED_CURRENT = 7, USED_HIGH = 8;

    private final MethodHandle setAttribute;
    private final MethodHandle getAttribute;
    private final MethodHandle trimTo;
    private final MemorySegment pool;

    private MemPool(SymbolLookup lib, int ordinal) throws Throwable {
        Linker linker = Linker.nativeLinker();
        var A = ValueLayout.ADDRESS;
        var I = ValueLayout.JAVA_INT;
        MethodHandle getDefault = linker.downcallHandle(find(lib, "cuDeviceGetDefaultMemPool"), FunctionDescriptor.of(I, A, I));
        setAttribute = linker.downcallHandle(find(lib, "cuMemPoolSetAttribute"), FunctionDescriptor.of(I, A, I, A));
        getAttribute = linker.downcallHandle(find(lib, "cuMemPoolGetAttribute"), FunctionDescriptor.of(I, A, I, A));
        trimTo = linker.downcallHandle(find(lib, "cuMemPoolTrimTo"), FunctionDescriptor.of(I, A, ValueLayout.JAVA_LONG));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment slot = a.allocate(ValueLayout.ADDRESS);
            check((int) getDefault.invokeExact(slot, ordinal), "cuDeviceGetDefaultMemPool");
            pool = slot.get(ValueLayout.ADDRESS, 0);
        }
        set(RELEASE_THRESHOLD, -1L); // UINT64_MAX
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("libcuda has no symbol " + name));
    }

    private static void check(int status, String what) {
        if (status != 0) throw new IllegalStateException(what + " failed with CUDA error " + status);
    }

    /** The default pool of device ordinal, or null (with the pool left at the driver's defaults) where libcuda cannot be bound. */
    static MemPool open(int ordinal) {
        try {
            return new MemPool(SymbolLookup.libraryLookup("libcuda.so.1", Arena.global()), ordinal);
        } catch (Throwable t) {
            return null;
        }
    }

    private void set(int attribute, long value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocateFrom(ValueLayout.JAVA_LONG, value);
            check((int) setAttribute.invokeExact(pool, attribute, v), "cuMemPoolSetAttribute(" + attribute + ")");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private long get(int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_LONG);
            check((int) getAttribute.invokeExact(pool, attribute, v), "cuMemPoolGetAttribute(" + attribute + ")");
            return v.get(ValueLayout.JAVA_LONG, 0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Bytes the pool holds from the system now, and at most since the last {@link #resetPeaks}. */
    long reservedBytes() {
        return get(RESERVED_CURRENT);
    }

    long reservedPeakBytes() {
        return get(RESERVED_HIGH);
    }

    /** Bytes handed out and not yet freed, now and at most since the last {@link #resetPeaks}. */
    long usedBytes() {
        return get(USED_CURRENT);
    }

    long usedPeakBytes() {
        return get(USED_HIGH);
    }

    /** Restarts both high watermarks from the current values (the driver accepts only 0 here). */
    void resetPeaks() {
        set(RESERVED_HIGH, 0L);
        set(USED_HIGH, 0L);
    }

    /** Gives back to the system all the pool holds beyond keepBytes; the stream must be idle. */
    void trim(long keepBytes) {
        try {
            check((int) trimTo.invokeExact(pool, keepBytes), "cuMemPoolTrimTo");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
