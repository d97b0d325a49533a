package org.ssmtk.core.backend;

import org.ssmtk.core.backend.cpu.CpuBackend;

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
            case "cpu" -> threads > 0 ? new CpuBackend(threads) : new CpuBackend();
            case "cuda" -> throw new IllegalArgumentException("--device cuda: this build of ssmtk has no CUDA backend yet; use --device cpu");
            case "auto" -> {
                CpuBackend cpu = threads > 0 ? new CpuBackend(threads) : new CpuBackend();
                notice.accept("ssmtk: --device auto: no CUDA backend in this build, running on " + cpu.describe());
                yield cpu;
            }
            default -> throw new IllegalArgumentException("--device must be cpu, cuda or auto, got '" + device + "'");
        };
    }
}
