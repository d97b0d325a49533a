package org.ssmtk.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class AtomicFilesTest {
    @Test
    void aFailedWriteLeavesNeitherTheTargetNorATemporaryFile(@TempDir Path dir) throws IOException {
        Path target = dir.resolve("out.tsv");
        assertThrows(IOException.class, () -> AtomicFiles.write(target, o -> {
            o.write("half".getBytes(StandardCharsets.UTF_8));
            throw new IOException("input ended early");
        }));
        assertFalse(Files.exists(target));
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void aFolderIsReplacedWholeOrNotAtAll(@TempDir Path dir) throws IOException {
        Path target = dir.resolve("model");
        AtomicFiles.writeDirectory(target, tmp -> Files.writeString(tmp.resolve("a"), "old"));
        assertEquals("old", Files.readString(target.resolve("a")));
        // a failed rewrite keeps the old folder and leaves nothing beside it
        assertThrows(IOException.class, () -> AtomicFiles.writeDirectory(target, tmp -> {
            Files.writeString(tmp.resolve("a"), "half");
            throw new IOException("disk full");
        }));
        assertEquals("old", Files.readString(target.resolve("a")));
        // a complete rewrite replaces every file: nothing of the old folder stays
        Files.writeString(target.resolve("stale"), "x");
        AtomicFiles.writeDirectory(target, tmp -> Files.writeString(tmp.resolve("a"), "new"));
        assertEquals("new", Files.readString(target.resolve("a")));
        assertFalse(Files.exists(target.resolve("stale")));
        try (var files = Files.list(dir)) {
            assertEquals(java.util.List.of(target), files.toList());
        }
    }

    @Test
    void outputsGetTheModeAnyOtherToolWouldGiveThemNotAPrivateOne(@TempDir Path dir) throws IOException {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "no POSIX permissions here");
        // a plainly created file and folder get 0666 / 0777 less the umask: outputs must match them
        Path plainFile = Files.createFile(dir.resolve("plain")), plainDir = Files.createDirectory(dir.resolve("plain-dir"));
        Path target = dir.resolve("out.tsv");
        AtomicFiles.write(target, o -> o.write('x'));
        assertEquals(Files.getPosixFilePermissions(plainFile), Files.getPosixFilePermissions(target));
        Path tmpDir = AtomicFiles.temporaryDirectory(dir, ".run.");
        assertEquals(Files.getPosixFilePermissions(plainDir), Files.getPosixFilePermissions(tmpDir));
    }

    @Test
    void aFileAndItsIndexAppearTogetherOrNotAtAll(@TempDir Path dir) throws IOException {
        Path target = dir.resolve("out.vcf.gz");
        Files.writeString(target, "old");
        Files.writeString(dir.resolve("out.vcf.gz.tbi"), "old index");
        // the writer fails after writing the file but before its index: the old pair stays, nothing new appears
        assertThrows(IOException.class, () -> AtomicFiles.writeWithCompanions(target, java.util.List.of(".tbi"), p -> {
            Files.writeString(p, "new");
            throw new IOException("input ended early");
        }));
        assertEquals("old", Files.readString(target));
        assertEquals("old index", Files.readString(dir.resolve("out.vcf.gz.tbi")));
        // a writer that forgets the index is an error too, not a file without its index
        assertThrows(IOException.class, () -> AtomicFiles.writeWithCompanions(target, java.util.List.of(".tbi"), p -> Files.writeString(p, "new")));
        assertEquals("old", Files.readString(target));
        AtomicFiles.writeWithCompanions(target, java.util.List.of(".tbi"), p -> {
            Files.writeString(p, "new");
            Files.writeString(p.resolveSibling(p.getFileName() + ".tbi"), "new index");
        });
        assertEquals("new", Files.readString(target));
        assertEquals("new index", Files.readString(dir.resolve("out.vcf.gz.tbi")));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary folder left behind");
        }
    }

    // Issue 15: the rename replaced symbolic links, FIFOs and (as root) device nodes at the output path.

    @Test
    void aSymbolicLinkIsWrittenThroughNotReplaced(@TempDir Path dir) throws IOException {
        Path real = Files.writeString(dir.resolve("real.tsv"), "old"), link = Files.createSymbolicLink(dir.resolve("link.tsv"), real.getFileName());
        Object inode = Files.readAttributes(real, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        AtomicFiles.write(link, o -> o.write("new".getBytes(StandardCharsets.UTF_8)));
        assertTrue(Files.isSymbolicLink(link), "the link was replaced by a file");
        assertEquals("new", Files.readString(real));
        // the same file, not a new one renamed over it: a shell redirection behind /dev/stdout keeps its file
        assertEquals(inode, Files.readAttributes(real, java.nio.file.attribute.BasicFileAttributes.class).fileKey());
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "a temporary file was left behind");
        }
    }

    @Test
    void aFailedWriteThroughALinkLeavesTheLinkedFileAsItWas(@TempDir Path dir) throws IOException {
        Path real = Files.writeString(dir.resolve("real.tsv"), "old"), link = Files.createSymbolicLink(dir.resolve("link.tsv"), real.getFileName());
        assertThrows(IOException.class, () -> AtomicFiles.write(link, o -> {
            o.write("half".getBytes(StandardCharsets.UTF_8));
            throw new IOException("input ended early");
        }));
        assertEquals("old", Files.readString(real));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count());
        }
    }

    @Test
    void aFifoIsStreamedIntoNotReplacedByAFile(@TempDir Path dir) throws Exception {
        Path fifo = dir.resolve("pipe");
        assumeTrue(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0, "no mkfifo here");
        var read = java.util.concurrent.Executors.newSingleThreadExecutor().submit(() -> Files.readString(fifo));
        AtomicFiles.write(fifo, o -> o.write("through the pipe".getBytes(StandardCharsets.UTF_8)));
        assertEquals("through the pipe", read.get(30, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(Files.exists(fifo) && !Files.isRegularFile(fifo), "the FIFO was replaced");
        Path viaPathWriter = fifo;
        var read2 = java.util.concurrent.Executors.newSingleThreadExecutor().submit(() -> Files.readString(fifo));
        AtomicFiles.writePath(viaPathWriter, tmp -> Files.writeString(tmp, "second"));
        assertEquals("second", read2.get(30, java.util.concurrent.TimeUnit.SECONDS));
        assertFalse(Files.isRegularFile(fifo));
    }

    @Test
    void aCharacterDeviceIsWrittenIntoAndAFullDiskNamesTheFile() throws IOException {
        Path nul = Path.of("/dev/null"), full = Path.of("/dev/full");
        assumeTrue(Files.exists(full) && !Files.isRegularFile(full), "no /dev/full");
        // Asserted before anything is written: as root, a rename over a device node replaces it for
        // the whole machine (this is how /dev/null became a regular file in the report).
        assertEquals(AtomicFiles.Mode.STREAM, AtomicFiles.mode(nul));
        assertEquals(AtomicFiles.Mode.STREAM, AtomicFiles.mode(full));
        // /dev/full fails every write with ENOSPC, as a full disk does
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(full, o -> o.write(new byte[2 << 20])));
        assertTrue(e.getMessage().startsWith("/dev/full: cannot write: "), e.getMessage());
        assertFalse(Files.isRegularFile(full));
    }
}
