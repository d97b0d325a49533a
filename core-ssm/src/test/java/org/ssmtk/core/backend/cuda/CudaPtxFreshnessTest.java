package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs without a GPU: every kernel source beside the launchers must have its PTX on the class path,
 * built from exactly this source and the headers (the SHA-256 that scripts/build-ptx.sh writes on
 * the PTX's first line), every committed PTX must have a source, and the launchers must load each.
 */
class CudaPtxFreshnessTest {
    static final String HEADER = "// ssmtk-source-sha256: ";
    static final Path SOURCES = Path.of("src/main/java/org/ssmtk/core/backend/cuda");
    static final Path RESOURCES = Path.of("src/main/resources/org/ssmtk/core/backend/cuda");

    static List<Path> files(Path dir, String suffix) throws Exception {
        assertTrue(Files.isDirectory(dir), "folder " + dir.toAbsolutePath());
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }

    /** build-ptx.sh's hash: the .cu, then every .cuh of its folder in name order. */
    static String sourceHash(Path cu) throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.write(Files.readAllBytes(cu));
        for (Path h : files(cu.getParent(), ".cuh")) all.write(Files.readAllBytes(h));
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(all.toByteArray()));
    }

    @Test
    void everyCommittedPtxWasBuiltFromTheCurrentSource() throws Exception {
        List<Path> sources = files(SOURCES, ".cu");
        assertFalse(sources.isEmpty(), "no .cu sources in " + SOURCES);
        for (Path src : sources) {
            String name = src.getFileName().toString().replaceFirst("\\.cu$", ".ptx");
            String firstLine;
            try (InputStream in = CudaBackend.class.getResourceAsStream(name)) {
                assertNotNull(in, name + " is not on the class path: run scripts/build-ptx.sh and commit it");
                firstLine = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElse("");
            }
            assertTrue(firstLine.startsWith(HEADER), name + " has no source hash line: rebuild it with scripts/build-ptx.sh");
            assertEquals(sourceHash(src), firstLine.substring(HEADER.length()).trim(),
                    name + " is stale: " + src + " or a header changed since it was built; run scripts/build-ptx.sh and commit the PTX");
        }
    }

    @Test
    void everyCommittedPtxHasASourceAndIsLoaded() throws Exception {
        for (Path ptx : files(RESOURCES, ".ptx")) {
            String name = ptx.getFileName().toString();
            assertTrue(Files.exists(SOURCES.resolve(name.replaceFirst("\\.ptx$", ".cu"))),
                    name + " has no source beside the launchers: delete it (scripts/build-ptx.sh does)");
            assertTrue(CudaContext.MODULES.contains(name), name + " is not among the modules CudaContext loads");
        }
        for (String module : CudaContext.MODULES)
            assertTrue(Files.exists(RESOURCES.resolve(module)), "CudaContext loads " + module + ", which is not committed");
    }
}
