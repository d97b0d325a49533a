package org.ssmtk.core.backend;

import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.backend.cuda.CudaBackend;

import java.util.function.Consumer;

/** Opens a backend by the name users give on the command line. */
public final class Backends {
    private Backends() {}

    /**
     * @param device  cpu, cuda or auto
     * @param threads CPU threads, 0 for the default
     * @param notice  receives the one line that says what auto picked
     */
    public static Backend open(String device, int threads, Consumer<String> notice) {
        return switch (device) {
            case "cpu" -> cpu(threads);
            // CudaBackend.open turns every failure (no driver, no GPU, no JCuda natives) into one line
            case "cuda" -> CudaBackend.open();
            case "auto" -> {
                try {
                    CudaBackend cuda = CudaBackend.open();
                    notice.accept("ssmtk: --device auto: using the GPU, " + cuda.describe());
                    yield cuda;
                } catch (IllegalArgumentException e) {
                    CpuBackend cpu = cpu(threads);
                    notice.accept("ssmtk: --device auto: " + e.getMessage().replaceFirst("^--device cuda: ", "")
                            + "; running on " + cpu.describe());
                    yield cpu;
                }
            }
            default -> throw new IllegalArgumentException("--device must be cpu, cuda or auto, got '" + device + "'");
        };
    }

    private static CpuBackend cpu(int threads) {
        return threads > 0 ? new CpuBackend(threads) : new CpuBackend();
    }
}
