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
        return open(device, threads, precision, null, notice);
    }

    /**
     * {@link #open(String, int, String, Consumer)} with Mamba-2's SSD scan multiplying inside a chunk
     * in {@code ssdProducts}: fp32 (exact, CUDA cores), tf32x3 (fp32's accuracy on tensor cores) or
     * tf32 (as state-spaces/mamba's Triton kernels); null: the precision's own (tf32x3 under fp32,
     * tf32 under bf16). Only the cuda backend has them: asked of the CPU it is refused, not ignored.
     */
    public static Backend open(String device, int threads, String precision, String ssdProducts, Consumer<String> notice) {
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
                if (ssdProducts != null) throw new BackendUnavailableException("--ssd-products needs --device cuda");
                yield cpu(threads);
            }
            case "cuda" -> openCuda(p, ssdProducts);
            case "auto" -> {
                try {
                    CudaBackend cuda = openCuda(p, ssdProducts);
                    notice.accept("ssmtk: --device auto: using the GPU, " + cuda.describe());
                    yield cuda;
                } catch (BackendUnavailableException e) {
                    String why = e.getMessage().replaceFirst("^--device cuda: ", "");
                    if (bf16) throw new BackendUnavailableException("--precision bf16 needs --device cuda; --device auto found " + why);
                    if (ssdProducts != null) throw new BackendUnavailableException("--ssd-products needs --device cuda; --device auto found " + why);
                    CpuBackend cpu = cpu(threads);
                    notice.accept("ssmtk: --device auto: " + why + "; running on " + cpu.describe());
                    yield cpu;
                }
            }
            default -> throw new BackendUnavailableException("--device must be cpu, cuda or auto, got '" + device + "'");
        };
    }

    /** CudaBackend.open turns every failure to open (no driver, no GPU, no JCuda natives) into one IllegalArgumentException line. */
    private static CudaBackend openCuda(Precision p, String ssdProducts) {
        try {
            return CudaBackend.open(p, ssdProducts);
        } catch (IllegalArgumentException e) {
            throw new BackendUnavailableException(e.getMessage(), e.getCause());
        }
    }

    private static CpuBackend cpu(int threads) {
        return threads > 0 ? new CpuBackend(threads) : new CpuBackend();
    }
}
