package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;

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
 * Runs without a GPU: every kernel source must have its PTX on the class path, built from exactly
 * this source (the SHA-256 that scripts/build-ptx.sh writes on the PTX's first line).
 */
class CudaPtxFreshnessTest {
    static final String HEADER = "// ssmtk-source-sha256: ";

    @Test
    void everyCommittedPtxWasBuiltFromTheCurrentSource() throws Exception {
        Path dir = Path.of("src/main/cuda");
        assertTrue(Files.isDirectory(dir), "kernel sources at " + dir.toAbsolutePath());
        List<Path> sources;
        try (Stream<Path> s = Files.list(dir)) {
            sources = s.filter(p -> p.toString().endsWith(".cu")).sorted().toList();
        }
        assertFalse(sources.isEmpty(), "no .cu sources in " + dir);
        for (Path src : sources) {
            String name = src.getFileName().toString().replaceFirst("\\.cu$", ".ptx");
            String firstLine;
            try (InputStream in = CudaBackend.class.getResourceAsStream(name)) {
                assertNotNull(in, name + " is not on the class path: run scripts/build-ptx.sh and commit it");
                firstLine = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElse("");
            }
            assertTrue(firstLine.startsWith(HEADER), name + " has no source hash line: rebuild it with scripts/build-ptx.sh");
            String want = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(src)));
            assertEquals(want, firstLine.substring(HEADER.length()).trim(),
                    name + " is stale: " + src + " changed since it was built; run scripts/build-ptx.sh and commit the PTX");
        }
    }
}
