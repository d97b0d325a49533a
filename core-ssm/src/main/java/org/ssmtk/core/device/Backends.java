package org.ssmtk.core.device;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.Precision;

import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.backend.cuda.CudaBackend;

import java.util.function.Consumer;

/** Opens a backend by the name users give on the command line. */
public final class Backends {
    private Backends() {}

    /** {@link #open(String, int, String, Consumer)} with fp32 matrix products. */
    public static Backend open(String device, int threads, Consumer<String> notice) {
        return open(device, threads, "fp32", notice);
    }

    /**
     * @param device    cpu, cuda or auto
     * @param threads   CPU threads, 0 for the default
     * @param precision fp32, or bf16 for bf16 tensor-core matrix products with fp32 accumulation and
     *                  fp32 master weights (the cuda backend only)
     * @param notice    receives the one line that says what auto picked
     * @throws BackendUnavailableException when the device or precision asked for cannot run here
     */
    public static Backend open(String device, int threads, String precision, Consumer<String> notice) {
        Precision p;
        try {
            p = Precision.parse(precision);
        } catch (IllegalArgumentException e) {
            throw new BackendUnavailableException(e.getMessage());
        }
        boolean bf16 = p == Precision.BF16;
        return switch (device) {
            case "cpu" -> {
                // the CPU backend has no bf16 products; running fp32 instead would misreport the run
                if (bf16) throw new BackendUnavailableException("--precision bf16 needs --device cuda");
                yield cpu(threads);
            }
            case "cuda" -> openCuda(p);
            case "auto" -> {
                try {
                    CudaBackend cuda = openCuda(p);
                    notice.accept("ssmtk: --device auto: using the GPU, " + cuda.describe());
                    yield cuda;
                } catch (BackendUnavailableException e) {
                    String why = e.getMessage().replaceFirst("^--device cuda: ", "");
                    if (bf16) throw new BackendUnavailableException("--precision bf16 needs --device cuda; --device auto found " + why);
                    CpuBackend cpu = cpu(threads);
                    notice.accept("ssmtk: --device auto: " + why + "; running on " + cpu.describe());
                    yield cpu;
                }
            }
            default -> throw new BackendUnavailableException("--device must be cpu, cuda or auto, got '" + device + "'");
        };
    }

    /** CudaBackend.open turns every failure to open (no driver, no GPU, no JCuda natives) into one IllegalArgumentException line. */
    private static CudaBackend openCuda(Precision p) {
        try {
            return CudaBackend.open(p);
        } catch (IllegalArgumentException e) {
            throw new BackendUnavailableException(e.getMessage(), e.getCause());
        }
    }

    private static CpuBackend cpu(int threads) {
        return threads > 0 ? new CpuBackend(threads) : new CpuBackend();
    }
}
