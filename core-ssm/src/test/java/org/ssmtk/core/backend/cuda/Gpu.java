package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.Precision;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The one CUDA backend the GPU tests share, or the reason there is none (they then skip). */
final class Gpu {
    private static CudaBackend backend;
    private static String reason;
    private static boolean tried;
    private static CudaBackend bf16;
    private static CudaBackend exactFp32;

    private Gpu() {}

    static synchronized CudaBackend backend() {
        if (!tried) {
            tried = true;
            try {
                backend = CudaBackend.open();
                System.out.println("gpu tests on " + backend.describe());
            } catch (IllegalArgumentException e) {
                reason = e.getMessage();
                // once, in the build log itself: surefire only counts skipped tests
                System.err.println("[GPU tests] skipped: no CUDA GPU here (" + reason + ")");
            }
        }
        assumeTrue(backend != null, () -> "GPU test skipped, no CUDA GPU here: " + reason);
        return backend;
    }

    /** A second backend on the same GPU with bf16 products, for the mixed-precision tests. */
    static synchronized CudaBackend bf16() {
        backend();
        if (bf16 == null) {
            bf16 = CudaBackend.open(Precision.BF16);
            System.out.println("bf16 gpu tests on " + bf16.describe());
        }
        return bf16;
    }

    /** A backend on the same GPU whose SSD scan multiplies in exact fp32 on CUDA cores (fp32's default is 3xTF32). */
    static synchronized CudaBackend exactFp32() {
        backend();
        if (exactFp32 == null) exactFp32 = CudaBackend.open(Precision.FP32, "fp32");
        return exactFp32;
    }

    /** Asserts and prints the error, so that a GPU run's log carries every parity number. */
    static void close(String what, float[] ours, float[] ref, double tolerance) {
        double err = Fixtures.relativeError(ours, ref);
        System.out.printf("parity %-58s rel.err %.3e (tolerance %.0e)%n", what, err, tolerance);
        assertTrue(err < tolerance, what + ": relative error " + err + " is not below " + tolerance);
    }

    static void close(String what, float[] ours, double[] ref, double tolerance) {
        double err = Fixtures.relativeError(ours, ref);
        System.out.printf("parity %-58s rel.err %.3e (tolerance %.0e)%n", what, err, tolerance);
        assertTrue(err < tolerance, what + ": relative error " + err + " is not below " + tolerance);
    }
}
