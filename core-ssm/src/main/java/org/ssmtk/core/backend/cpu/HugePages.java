package org.ssmtk.core.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Off-heap memory on transparent huge pages, for the weights a decoding step streams once per token
 * (the 130M shape's 509 MB fp32, 143 MB int8): with 2 MB pages a stream of that size crosses a page
 * boundary 512 times less often. Only these blocks get huge pages, not the whole heap: the JVM's
 * -XX:+UseTransparentHugePages cut the DNA shape's prompt processing on one thread to less than half
 * (4,190 to 1,717 tokens/s fp32, median of 3, 2026-11-30; README, "CPU speed against llama.cpp").
 * <p>
 * Memory is mapped anonymous, 2 MB-aligned, and madvise(MADV_HUGEPAGE) is applied before the first
 * touch, which is what the kernel's "madvise" THP mode asks for; it is unmapped when its arena
 * closes. Where that is unavailable (no mmap, a refused madvise, or the system property
 * ssmtk.cpu.hugePages=false) the memory is a plain off-heap allocation, said at DEBUG level: the
 * same bytes, read by the same kernels, only with small pages.
 */
final class HugePages {
    private static final long HUGE = 2L << 20;
    /** Linux x86-64 and aarch64 values (mman.h). */
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MADV_HUGEPAGE = 14;
    private static final System.Logger LOG = System.getLogger(HugePages.class.getName());
    private static final MethodHandle MMAP, MUNMAP, MADVISE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null;
        if (!"false".equals(System.getProperty("ssmtk.cpu.hugePages")) && System.getProperty("os.name", "").startsWith("Linux")) {
            try {
                Linker linker = Linker.nativeLinker();
                var A = ValueLayout.ADDRESS;
                var I = ValueLayout.JAVA_INT;
                var J = ValueLayout.JAVA_LONG;
                var libc = linker.defaultLookup();
                mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(A, A, J, I, I, I, J));
                munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(), FunctionDescriptor.of(I, A, J));
                madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(), FunctionDescriptor.of(I, A, J, I));
            } catch (RuntimeException | Error e) { // no native access, no libc symbol
                LOG.log(System.Logger.Level.DEBUG, "huge pages unavailable, weights on small pages: " + e);
                mmap = munmap = madvise = null;
            }
        } else {
            LOG.log(System.Logger.Level.DEBUG, "huge pages off (ssmtk.cpu.hugePages=false or not Linux)");
        }
        MMAP = mmap;
        MUNMAP = munmap;
        MADVISE = madvise;
    }

    private HugePages() {}

    /**
     * Below this a block stays on small pages: a mapping is whole 2 MB pages, each backed in full on
     * first touch, so an int8 matrix of a few hundred KB (every matrix of the DNA preset) would hold
     * 2 MB, and one that small is read from cache in a decoding step anyway.
     */
    static final long MIN_HUGE = 1L << 20;

    /**
     * bytes of zeroed off-heap memory, 64-byte aligned at least, on huge pages where the kernel gives
     * them and bytes is at least {@link #MIN_HUGE}; freed when arena closes (or, for an automatic
     * arena, becomes unreachable).
     */
    static MemorySegment allocate(long bytes, Arena arena) {
        if (MMAP != null && bytes >= MIN_HUGE) {
            MemorySegment m = mapHuge(bytes, arena);
            if (m != null) return m;
        }
        return arena.allocate(Math.max(1, bytes), 64);
    }

    /** A 2 MB-aligned anonymous mapping advised as huge, or null (logged) where mmap or madvise says no. */
    private static MemorySegment mapHuge(long bytes, Arena arena) {
        long len = (bytes + HUGE - 1) / HUGE * HUGE;
        try {
            // one huge page more than needed, then the unaligned head and the tail unmapped
            MemorySegment raw = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, len + HUGE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
            long start = raw.address();
            if (start == -1L) {
                LOG.log(System.Logger.Level.DEBUG, "mmap of " + (len + HUGE) + " bytes failed; small pages");
                return null;
            }
            long aligned = (start + HUGE - 1) / HUGE * HUGE, end = start + len + HUGE;
            if (aligned > start) unmap(start, aligned - start);
            if (end > aligned + len) unmap(aligned + len, end - aligned - len);
            if ((int) MADVISE.invokeExact(MemorySegment.ofAddress(aligned), len, MADV_HUGEPAGE) != 0) {
                unmap(aligned, len);
                LOG.log(System.Logger.Level.DEBUG, "madvise(MADV_HUGEPAGE) refused; small pages");
                return null;
            }
            return MemorySegment.ofAddress(aligned).reinterpret(len, arena, s -> unmap(s.address(), len)).asSlice(0, bytes);
        } catch (Throwable e) {
            LOG.log(System.Logger.Level.DEBUG, "mmap for huge pages failed, small pages: " + e);
            return null;
        }
    }

    private static void unmap(long address, long bytes) {
        try {
            int rc = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), bytes);
            if (rc != 0) LOG.log(System.Logger.Level.DEBUG, "munmap of " + bytes + " bytes returned " + rc);
        } catch (Throwable e) {
            throw new IllegalStateException("munmap", e);
        }
    }

    /** Whether huge pages are asked for at all (a test reads this to say what it exercised). */
    static boolean enabled() {
        return MMAP != null;
    }

    /**
     * Copies of one decoding step's fp32 weight matrices, packed one after the other into chunks of
     * at least {@link #CHUNK} (one mapping for all of a small model's weights: a huge page is zeroed
     * whole on first touch, so a mapping per small matrix would cost 2 MB each), all unmapped by
     * {@link #close}. heap: copies into Java arrays instead, for tests that compare the two.
     */
    static final class Copies implements AutoCloseable {
        static final long CHUNK = 32L << 20;
        private final Arena arena = Arena.ofShared();
        private final boolean heap;
        private MemorySegment chunk;
        private long used;

        Copies(boolean heap) {
            this.heap = heap;
        }

        /** src[off .. off + n) in a segment of its own (64-byte aligned), read as floats in native order. */
        MemorySegment copy(float[] src, int off, int n) {
            if (heap) return MemorySegment.ofArray(java.util.Arrays.copyOfRange(src, off, off + n));
            long bytes = 4L * n, at = (used + 63) / 64 * 64;
            if (chunk == null || at + bytes > chunk.byteSize()) {
                chunk = allocate(Math.max(CHUNK, bytes), arena);
                at = 0;
            }
            MemorySegment dst = chunk.asSlice(at, bytes);
            MemorySegment.copy(src, off, dst, ValueLayout.JAVA_FLOAT, 0, n);
            used = at + bytes;
            return dst;
        }

        @Override
        public void close() {
            if (arena.scope().isAlive()) arena.close();
        }
    }
}
