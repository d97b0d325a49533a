package org.ssmtk.core.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes an output file so that readers only ever see the old file or the complete new one: the
 * content goes to a temporary file in the target's directory, which is renamed over the target
 * once it is fully written. A failure removes the temporary file and leaves the target untouched.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    @FunctionalInterface
    public interface StreamWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    @FunctionalInterface
    public interface PathWriter {
        void writeTo(Path temporary) throws IOException;
    }

    public static void write(Path target, StreamWriter writer) throws IOException {
        writePath(target, tmp -> {
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                writer.writeTo(out);
            }
        });
    }

    public static void writePath(Path target, PathWriter writer) throws IOException {
        Path tmp = temporaryFor(target);
        boolean done = false;
        try {
            writer.writeTo(tmp);
            commit(tmp, target);
            done = true;
        } finally {
            if (!done) Files.deleteIfExists(tmp);
        }
    }

    /**
     * A temporary file beside {@code target} (its folder created), for outputs that are written
     * together and each put in place with {@link #commit} once all are complete.
     */
    public static Path temporaryFor(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        if (dir != null) Files.createDirectories(dir);
        return temporaryFile(dir, "." + absolute.getFileName() + ".", ".partial");
    }

    /** Renames a complete temporary file from {@link #temporaryFor} over {@code target}: atomic where the file system can. */
    public static void commit(Path temporary, Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        try {
            Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Writes a folder ({@code writer} fills a temporary sibling) and puts it in place of
     * {@code target}: a folder already there is moved aside first and deleted only once the new
     * one is in place, so readers see the old folder or the complete new one. On failure the
     * temporary folder is removed and the target is untouched.
     */
    public static void writeDirectory(Path target, PathWriter writer) throws IOException {
        Path absolute = target.toAbsolutePath().normalize();
        Path parent = absolute.getParent();
        Files.createDirectories(parent);
        Path tmp = temporaryDirectory(parent, "." + absolute.getFileName() + ".");
        try {
            writer.writeTo(tmp);
            Path old = null;
            if (Files.exists(absolute, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                old = parent.resolve("." + absolute.getFileName() + ".old-" + System.nanoTime());
                Files.move(absolute, old);
            }
            Files.move(tmp, absolute, StandardCopyOption.ATOMIC_MOVE);
            if (old != null) deleteTree(old);
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
    }

    /** Deletes a file or a folder and everything in it. */
    public static void deleteTree(Path p) throws IOException {
        try (java.util.stream.Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    /**
     * Writes a file and the companions a library derives from its name (an index such as
     * {@code X.vcf.gz.tbi}) so that they appear together: the writer gets a path in a temporary folder
     * beside the target, with the target's file name, and every {@code name + suffix} must be there
     * when it returns. Then the old target is removed, the companions are renamed into place and the
     * target last; if that last rename fails the new companions are removed again. A reader never sees
     * a new file with an old companion or an old file with a new one: before the swap it sees the old
     * pair, during it (at worst) no target, after it the new pair. A failure leaves no new file.
     */
    public static void writeWithCompanions(Path target, java.util.List<String> suffixes, PathWriter writer) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        if (dir != null) Files.createDirectories(dir);
        String name = absolute.getFileName().toString();
        Path tmpDir = temporaryDirectory(dir, "." + name + ".");
        java.util.List<Path> placed = new java.util.ArrayList<>();
        boolean done = false;
        try {
            writer.writeTo(tmpDir.resolve(name));
            for (String suffix : suffixes)
                if (!Files.isRegularFile(tmpDir.resolve(name + suffix)))
                    throw new IOException(absolute + suffix + ": was not written (internal error)");
            Files.deleteIfExists(absolute);
            for (String suffix : suffixes) {
                Path companion = absolute.resolveSibling(name + suffix);
                commit(tmpDir.resolve(name + suffix), companion);
                placed.add(companion);
            }
            commit(tmpDir.resolve(name), absolute);
            done = true;
        } finally {
            if (!done) for (Path p : placed) Files.deleteIfExists(p);
            try (var left = Files.list(tmpDir)) {
                for (Path p : (Iterable<Path>) left::iterator) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(tmpDir);
        }
    }

    private static final boolean POSIX = java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    private static final java.nio.file.attribute.FileAttribute<?>[] FILE_MODE = POSIX
            ? new java.nio.file.attribute.FileAttribute<?>[]{java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"))}
            : new java.nio.file.attribute.FileAttribute<?>[0];
    private static final java.nio.file.attribute.FileAttribute<?>[] DIR_MODE = POSIX
            ? new java.nio.file.attribute.FileAttribute<?>[]{java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"))}
            : new java.nio.file.attribute.FileAttribute<?>[0];

    /**
     * A new temporary file in dir that will be renamed into place. Java's temporary files are
     * private (0600), which would make every output unreadable to the rest of a pipeline's users; the
     * mode asked for here is 0666, so the process umask decides, as it does for samtools' outputs.
     */
    public static Path temporaryFile(Path dir, String prefix, String suffix) throws IOException {
        return Files.createTempFile(dir, prefix, suffix, FILE_MODE);
    }

    /** A new temporary folder in parent (0777 before the umask, for the same reason). */
    public static Path temporaryDirectory(Path parent, String prefix) throws IOException {
        return Files.createTempDirectory(parent, prefix, DIR_MODE);
    }
}
