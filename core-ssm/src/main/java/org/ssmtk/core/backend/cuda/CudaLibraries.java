package org.ssmtk.core.backend.cuda;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Where the CUDA libraries that ssmtk binds through FFM (cuBLAS, NCCL) may be: JCuda ships neither
 * for CUDA 13, and on a GPU machine they live in the toolkit, in the system's library folders or in
 * the pip wheels that PyTorch installs (nvidia/&lt;lib&gt;/lib inside a site-packages folder).
 */
final class CudaLibraries {
    private CudaLibraries() {}

    /**
     * The file named by envVar, then each bare name (the loader's own search), then each name in
     * CUDA_HOME/CUDA_PATH, LD_LIBRARY_PATH, the CUDA installs, the system folder and the pip folders
     * (pipSubdir under every site-packages and dist-packages found, virtual environments under /opt too).
     */
    static List<String> candidates(String envVar, List<String> names, String pipSubdir) {
        Set<String> out = new LinkedHashSet<>();
        Optional.ofNullable(System.getenv(envVar)).filter(s -> !s.isBlank()).ifPresent(out::add);
        out.addAll(names);
        List<Path> dirs = new ArrayList<>();
        for (String env : new String[]{"CUDA_HOME", "CUDA_PATH"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                dirs.add(Path.of(v, "lib64"));
                dirs.add(Path.of(v, "lib"));
            }
        }
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) for (String d : ld.split(":")) if (!d.isBlank()) dirs.add(Path.of(d));
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.addAll(glob(Path.of("/usr/local"), "cuda-", "lib64"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        List<Path> libRoots = new ArrayList<>(List.of(Path.of("/usr/local/lib"), Path.of("/usr/lib"), Path.of("/opt/conda/lib"),
                Path.of(System.getProperty("user.home"), ".local/lib")));
        for (Path venv : glob(Path.of("/opt"), "", ".venv/lib")) libRoots.add(venv);
        for (Path root : libRoots)
            for (Path py : glob(root, "python3", ""))
                for (String site : new String[]{"site-packages", "dist-packages"})
                    dirs.add(py.resolve(site).resolve(pipSubdir));
        for (Path d : dirs)
            for (String n : names) out.add(d.resolve(n).toString());
        return new ArrayList<>(out);
    }

    /** dir's entries whose names start with prefix, each with sub appended, newest-looking first. */
    private static List<Path> glob(Path dir, String prefix, String sub) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted()
                    .map(p -> sub.isEmpty() ? p : p.resolve(sub)).toList().reversed();
        } catch (Exception e) {
            return List.of();
        }
    }
}
