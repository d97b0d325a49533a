package org.ssmtk.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InputOutputGuardTest {
    private static InputOutputGuard.Arg arg(String o, Path p) {
        return new InputOutputGuard.Arg(o, p);
    }

    @Test
    void theSameFileIsFoundByPathThroughLinksAndByInode(@TempDir Path dir) throws Exception {
        Path in = Files.writeString(dir.resolve("a.fa"), ">a\nACGT\n");
        Path sym = Files.createSymbolicLink(dir.resolve("sym.fa"), in.getFileName());
        Path hard = Files.createLink(dir.resolve("hard.fa"), in);
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), Path.of("new.tsv"));
        for (Path out : List.of(in, dir.resolve("sub/../a.fa"), sym, hard)) {
            var e = assertThrows(InputOutputGuard.SameFileException.class,
                    () -> InputOutputGuard.check(List.of(arg("--fasta", in)), List.of(arg("--output", out))));
            assertTrue(e.getMessage().startsWith("--output " + out + " is the same file as --fasta " + in), e.getMessage());
        }
        // two outputs, one of them through a link that does not point anywhere yet
        assertThrows(InputOutputGuard.SameFileException.class, () -> InputOutputGuard.check(List.of(),
                List.of(arg("--output", dir.resolve("new.tsv")), arg("--bam-out", dangling))));
        assertDoesNotThrow(() -> InputOutputGuard.check(List.of(arg("--fasta", in)), List.of(arg("--output", dir.resolve("b.tsv")))));
        // special files may be named twice: both outputs to /dev/null is a common way to discard them
        if (Files.exists(Path.of("/dev/null")))
            assertDoesNotThrow(() -> InputOutputGuard.check(List.of(), List.of(arg("--output", Path.of("/dev/null")), arg("--bam-out", Path.of("/dev/null")))));
    }
}
