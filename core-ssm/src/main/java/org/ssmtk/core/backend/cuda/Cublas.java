package org.ssmtk.core.backend.cuda;

import jcuda.driver.CUevent;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * cuBLAS through the FFM API. JCublas 12.6 links against libcublas.so.12 and fails to load where
 * only CUDA 13 is installed, so the installed libcublas is bound here directly; the device
 * addresses come from the JCuda allocations (see {@link CudaBackend}). Column-major, like cuBLAS.
 */
final class Cublas implements AutoCloseable {
    static final int OP_N = 0, OP_T = 1;
    /** cudaDataType_t (library_types.h): CUDA_R_32F, CUDA_R_16BF. */
    static final int R_32F = 0, R_16BF = 14;
    /** cublasComputeType_t CUBLAS_COMPUTE_32F: fp32 accumulation, tensor cores allowed for 16-bit inputs. */
    static final int COMPUTE_32F = 68;
    /** cublasGemmAlgo_t CUBLAS_GEMM_DEFAULT: the library's heuristic picks the kernel. */
    private static final int GEMM_DEFAULT = -1;

    private final Arena arena = Arena.ofShared();
    private final String path;
    private final MethodHandle sgemm;
    private final MethodHandle gemmEx;
    private final MethodHandle destroy;
    private final MemorySegment handle;
    private final KernelTimes times;

    private Cublas(String path, SymbolLookup lib, long stream, KernelTimes times) throws Throwable {
        this.path = path;
        this.times = times;
        Linker linker = Linker.nativeLinker();
        var A = ValueLayout.ADDRESS;
        var I = ValueLayout.JAVA_INT;
        MethodHandle create = linker.downcallHandle(symbol(lib, "cublasCreate_v2"), FunctionDescriptor.of(I, A));
        MethodHandle setStream = linker.downcallHandle(symbol(lib, "cublasSetStream_v2"), FunctionDescriptor.of(I, A, A));
        MethodHandle setMath = linker.downcallHandle(symbol(lib, "cublasSetMathMode"), FunctionDescriptor.of(I, A, I));
        destroy = linker.downcallHandle(symbol(lib, "cublasDestroy_v2"), FunctionDescriptor.of(I, A));
        sgemm = linker.downcallHandle(symbol(lib, "cublasSgemm_v2"),
                FunctionDescriptor.of(I, A, I, I, I, I, I, A, A, I, A, I, A, A, I));
        gemmEx = linker.downcallHandle(symbol(lib, "cublasGemmEx"),
                FunctionDescriptor.of(I, A, I, I, I, I, I, A, A, I, I, A, I, I, A, A, I, I, I, I));
        MemorySegment slot = arena.allocate(ValueLayout.ADDRESS);
        check((int) create.invokeExact(slot), "cublasCreate");
        handle = slot.get(ValueLayout.ADDRESS, 0);
        check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream)), "cublasSetStream");
        // CUBLAS_DEFAULT_MATH: true fp32 products, no TF32, so results stay comparable with the CPU's
        check((int) setMath.invokeExact(handle, 0), "cublasSetMathMode");
    }

    /** "TN": the two operands' transposes as cuBLAS names them. */
    private static String ops(int transA, int transB) {
        return (transA == OP_T ? "T" : "N") + (transB == OP_T ? "T" : "N");
    }

    private static MemorySegment symbol(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("cuBLAS has no symbol " + name));
    }

    private static void check(int status, String what) {
        if (status != 0) throw new IllegalStateException(what + " failed with cuBLAS status " + status);
    }

    /** The library file this handle came from. */
    String path() {
        return path;
    }

    /** C = alpha op(A) op(B) + beta C with device addresses; column-major. */
    void sgemm(int transA, int transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb, float beta,
               long c, int ldc) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment al = call.allocateFrom(ValueLayout.JAVA_FLOAT, alpha);
            MemorySegment be = call.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
            CUevent timed = times.begin();
            int status = (int) sgemm.invokeExact(handle, transA, transB, m, n, k, al, MemorySegment.ofAddress(a), lda,
                    MemorySegment.ofAddress(b), ldb, be, MemorySegment.ofAddress(c), ldc);
            if (timed != null) times.end(timed, "cublasSgemm " + ops(transA, transB) + " " + m + "x" + n + "x" + k);
            check(status, "cublasSgemm(" + m + "x" + n + "x" + k + ")");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * C = alpha op(A) op(B) + beta C with A and B of type {@code abType} (R_16BF for the mixed-precision
     * path), C fp32, accumulation fp32 (COMPUTE_32F); device addresses, column-major.
     */
    void gemmEx(int transA, int transB, int m, int n, int k, float alpha, long a, int lda, long b, int ldb, int abType,
                float beta, long c, int ldc) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment al = call.allocateFrom(ValueLayout.JAVA_FLOAT, alpha);
            MemorySegment be = call.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
            CUevent timed = times.begin();
            int status = (int) gemmEx.invokeExact(handle, transA, transB, m, n, k, al, MemorySegment.ofAddress(a), abType,
                    lda, MemorySegment.ofAddress(b), abType, ldb, be, MemorySegment.ofAddress(c), R_32F, ldc, COMPUTE_32F,
                    GEMM_DEFAULT);
            if (timed != null) times.end(timed, "cublasGemmEx " + ops(transA, transB) + " " + m + "x" + n + "x" + k);
            check(status, "cublasGemmEx(" + m + "x" + n + "x" + k + ", type " + abType + ")");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void close() {
        try {
            int ignored = (int) destroy.invokeExact(handle);
        } catch (Throwable ignored) {
            // closing: nothing useful to do with a failure here
        }
        arena.close();
    }

    /**
     * Opens cuBLAS for the given raw stream, or says why not. The context that the stream belongs
     * to must be current on the calling thread.
     */
    static Cublas open(long stream, KernelTimes times, List<String> tried) {
        for (String candidate : candidates()) {
            tried.add(candidate);
            try {
                SymbolLookup lib = lookup(candidate);
                if (lib == null) continue;
                return new Cublas(candidate, lib, stream, times);
            } catch (Throwable t) {
                tried.set(tried.size() - 1, candidate + " (" + t.getMessage() + ")");
            }
        }
        return null;
    }

    private static SymbolLookup lookup(String candidate) {
        try {
            Path p = Path.of(candidate);
            if (p.isAbsolute()) {
                if (!Files.isRegularFile(p)) return null;
                // cuBLAS needs cublasLt from its own folder, which the loader does not search for a dlopen by path
                String lt = p.getFileName().toString().replace("libcublas.", "libcublasLt.");
                Path ltPath = p.resolveSibling(lt);
                if (Files.isRegularFile(ltPath)) SymbolLookup.libraryLookup(ltPath, Arena.global());
                return SymbolLookup.libraryLookup(p, Arena.global());
            }
            return SymbolLookup.libraryLookup(candidate, Arena.global());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** SSMTK_CUBLAS, then the loader's own search, then the folders of {@link CudaLibraries#candidates}. */
    static List<String> candidates() {
        return CudaLibraries.candidates("SSMTK_CUBLAS", List.of("libcublas.so.13", "libcublas.so.12"), "nvidia/cublas/lib");
    }
}
