package org.ssmtk.core.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * NCCL through the FFM API, as {@link Cublas} is bound: the few calls a data-parallel step needs
 * (communicators for the GPUs of this process, all-reduce of fp32 sums, groups, abort). Device
 * addresses and streams are the raw values of the JCuda objects; NCCL runs in the devices' primary
 * contexts, which are the ones {@link CudaContext} uses, so the two see the same memory.
 *
 * <p>NVLink multicast (NVLS) must stay off where the machine's owners say so: NCCL reads
 * NCCL_NVLS_ENABLE from the environment this process was started with, which is left as it is.
 */
final class Nccl {
    /** ncclDataType_t ncclFloat32 and ncclRedOp_t ncclSum (nccl.h). */
    private static final int FLOAT32 = 7, SUM = 0;

    private final String path;
    private final MethodHandle commInitAll, allReduce, groupStart, groupEnd, commDestroy, commAbort, errorString;
    private final int version;

    private Nccl(String path, SymbolLookup lib) throws Throwable {
        this.path = path;
        Linker linker = Linker.nativeLinker();
        var A = ValueLayout.ADDRESS;
        var I = ValueLayout.JAVA_INT;
        var J = ValueLayout.JAVA_LONG;
        commInitAll = linker.downcallHandle(symbol(lib, "ncclCommInitAll"), FunctionDescriptor.of(I, A, I, A));
        allReduce = linker.downcallHandle(symbol(lib, "ncclAllReduce"), FunctionDescriptor.of(I, A, A, J, I, I, A, A));
        groupStart = linker.downcallHandle(symbol(lib, "ncclGroupStart"), FunctionDescriptor.of(I));
        groupEnd = linker.downcallHandle(symbol(lib, "ncclGroupEnd"), FunctionDescriptor.of(I));
        commDestroy = linker.downcallHandle(symbol(lib, "ncclCommDestroy"), FunctionDescriptor.of(I, A));
        commAbort = linker.downcallHandle(symbol(lib, "ncclCommAbort"), FunctionDescriptor.of(I, A));
        errorString = linker.downcallHandle(symbol(lib, "ncclGetErrorString"), FunctionDescriptor.of(A, I));
        MethodHandle getVersion = linker.downcallHandle(symbol(lib, "ncclGetVersion"), FunctionDescriptor.of(I, A));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check((int) getVersion.invokeExact(v), "ncclGetVersion");
            version = v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    private static MemorySegment symbol(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("NCCL has no symbol " + name));
    }

    /** NCCL from SSMTK_NCCL, the loader's search or the CUDA and pip folders; null, with what was tried, when none loads. */
    static Nccl open(List<String> tried) {
        for (String candidate : CudaLibraries.candidates("SSMTK_NCCL", List.of("libnccl.so.2"), "nvidia/nccl/lib")) {
            try {
                Path p = Path.of(candidate);
                if (p.isAbsolute() && !Files.isRegularFile(p)) continue;
                tried.add(candidate);
                SymbolLookup lib = SymbolLookup.libraryLookup(p.isAbsolute() ? p.toString() : candidate, Arena.global());
                return new Nccl(candidate, lib);
            } catch (Throwable t) {
                if (!tried.isEmpty()) tried.set(tried.size() - 1, candidate + " (" + t.getMessage() + ")");
            }
        }
        return null;
    }

    String path() {
        return path;
    }

    /** "2.27.7" from NCCL's integer version. */
    String version() {
        return version >= 10000 ? version / 10000 + "." + version / 100 % 100 + "." + version % 100
                : version / 1000 + "." + version / 100 % 10 + "." + version % 100;
    }

    /** One communicator per device ordinal, rank i on devices[i], all in this process. */
    MemorySegment[] commInitAll(int[] devices) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment comms = a.allocate(ValueLayout.ADDRESS, devices.length);
            MemorySegment list = a.allocateFrom(ValueLayout.JAVA_INT, devices);
            check((int) commInitAll.invokeExact(comms, devices.length, list), "ncclCommInitAll(" + devices.length + " GPUs)");
            MemorySegment[] out = new MemorySegment[devices.length];
            for (int i = 0; i < out.length; i++) out[i] = comms.getAtIndex(ValueLayout.ADDRESS, i);
            return out;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** In-place fp32 sum of count floats at the device address buf, queued on the raw stream. */
    void allReduceSum(long buf, long count, MemorySegment comm, long stream) {
        try {
            MemorySegment p = MemorySegment.ofAddress(buf);
            check((int) allReduce.invokeExact(p, p, count, FLOAT32, SUM, comm, MemorySegment.ofAddress(stream)),
                    "ncclAllReduce(" + count + " floats)");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    void groupStart() {
        call(groupStart, "ncclGroupStart");
    }

    void groupEnd() {
        call(groupEnd, "ncclGroupEnd");
    }

    void destroy(MemorySegment comm) {
        try {
            int ignored = (int) commDestroy.invokeExact(comm);
        } catch (Throwable ignored) {
            // closing: nothing useful to do with a failure here
        }
    }

    /** Stops the communicator's pending work so that peers blocked on a failed replica return. */
    void abort(MemorySegment comm) {
        try {
            int ignored = (int) commAbort.invokeExact(comm);
        } catch (Throwable ignored) {
            // already failing: the first error is the one reported
        }
    }

    private void call(MethodHandle h, String what) {
        try {
            check((int) h.invokeExact(), what);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private void check(int status, String what) {
        if (status == 0) return;
        String why;
        try {
            MemorySegment s = (MemorySegment) errorString.invokeExact(status);
            why = s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            why = "status " + status;
        }
        throw new IllegalStateException(what + " failed: " + why + " (NCCL " + status + ")");
    }

    /** Every candidate tried, for the message when none loads. */
    static String describeTried(List<String> tried) {
        List<String> shown = new ArrayList<>(tried);
        return shown.isEmpty() ? "no libnccl.so.2 found (set SSMTK_NCCL to its path)" : String.join("; ", shown);
    }
}
