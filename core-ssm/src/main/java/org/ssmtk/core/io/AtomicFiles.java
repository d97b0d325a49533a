package org.ssmtk.core.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes an output file so that readers only ever see the old file or the complete new one: the
 * content goes to a temporary file in the target's directory, which is renamed over the target
 * once it is fully written. A failure removes the temporary file and leaves the target untouched.
 *
 * <p>A rename replaces whatever sits at the path, so it is kept for regular files (and new paths)
 * only. A symbolic link is written through: the content is completed in a temporary file, then
 * copied into the file the link names (the link, and a shell's redirection behind
 * {@code /dev/stdout -> /proc/self/fd/1 -> file}, keep their file). A FIFO, a character device
 * ({@code /dev/null}, a terminal) or any other special file is streamed into, as samtools does.
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

    /** How an output path is written: see the class comment. */
    public enum Mode {
        /** a regular file or a new path: temporary file, then rename */
        RENAME,
        /** a symbolic link to a regular file (or to nothing yet): temporary file, then copied through the link */
        THROUGH_LINK,
        /** a FIFO, device or other special file (possibly behind links): written into as a stream */
        STREAM
    }

    public static Mode mode(Path target) {
        if (Files.isSymbolicLink(target)) {
            if (!Files.exists(target)) return Mode.THROUGH_LINK; // dangling: the link's target is created
            return Files.isRegularFile(target) ? Mode.THROUGH_LINK : Files.isDirectory(target) ? Mode.RENAME : Mode.STREAM;
        }
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) return Mode.RENAME;
        return Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)
                ? Mode.RENAME : Mode.STREAM;
    }

    public static void write(Path target, StreamWriter writer) throws IOException {
        if (mode(target) == Mode.STREAM) {
            // A pipe's reader sees the bytes as they come; nothing is left behind on a pipe.
            try (OutputStream out = new java.io.BufferedOutputStream(named(openThrough(target), target), 1 << 20)) {
                writer.writeTo(out);
            }
            return;
        }
        writePath(target, tmp -> {
            try (OutputStream out = new java.io.BufferedOutputStream(named(Files.newOutputStream(tmp), target), 1 << 20)) {
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
     * A temporary file for {@code target} (its folder created), for outputs that are written together
     * and each put in place with {@link #commit} once all are complete: beside a regular target (the
     * rename stays on one file system), beside the file a link names, else in the system's temporary
     * folder (for a FIFO or device, whose folder is often not writable).
     */
    public static Path temporaryFor(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Mode mode = mode(absolute);
        Path dir;
        if (mode == Mode.RENAME) {
            dir = absolute.getParent();
            if (dir != null) Files.createDirectories(dir);
        } else {
            Path real = mode == Mode.THROUGH_LINK ? linkTarget(absolute) : null;
            dir = real != null && real.getParent() != null && Files.isWritable(real.getParent()) ? real.getParent()
                    : Path.of(System.getProperty("java.io.tmpdir"));
        }
        return temporaryFile(dir, "." + absolute.getFileName() + ".", ".partial");
    }

    /**
     * Puts a complete temporary file from {@link #temporaryFor} in place of {@code target}: renamed
     * over a regular file (atomic where the file system can), copied through a link or into a
     * special file (then removed).
     */
    public static void commit(Path temporary, Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        if (mode(absolute) == Mode.RENAME) {
            try {
                Files.move(temporary, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
            return;
        }
        try (InputStream in = Files.newInputStream(temporary); OutputStream out = named(openThrough(absolute), absolute)) {
            in.transferTo(out);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    /** An output being written, for commands that commit several outputs only when all are complete. */
    public static final class Pending {
        private final Path target, temporary;

        private Pending(Path target, Path temporary) {
            this.target = target;
            this.temporary = temporary;
        }

        public Path temporary() {
            return temporary;
        }

        public Path target() {
            return target;
        }

        public void commit() throws IOException {
            AtomicFiles.commit(temporary, target);
        }

        public void abort() throws IOException {
            Files.deleteIfExists(temporary);
        }
    }

    /** Starts an output at target: its temporary file exists (empty) when this returns. */
    public static Pending begin(Path target) throws IOException {
        return new Pending(target.toAbsolutePath(), temporaryFor(target));
    }

    private static Path linkTarget(Path link) {
        try {
            return Files.exists(link) ? link.toRealPath() : link.getParent().resolve(Files.readSymbolicLink(link));
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /**
     * out, whose write failures (a full disk: "No space left on device") name the output they were
     * writing; the writer's own exceptions (about its inputs) pass through as they are.
     */
    public static OutputStream named(OutputStream out, Path target) {
        return new java.io.FilterOutputStream(out) {
            @Override
            public void write(int b) throws IOException {
                try {
                    out.write(b);
                } catch (IOException e) {
                    throw failed(e);
                }
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                try {
                    out.write(b, off, len);
                } catch (IOException e) {
                    throw failed(e);
                }
            }

            @Override
            public void flush() throws IOException {
                try {
                    out.flush();
                } catch (IOException e) {
                    throw failed(e);
                }
            }

            @Override
            public void close() throws IOException {
                try {
                    out.close();
                } catch (IOException e) {
                    throw failed(e);
                }
            }

            private IOException failed(IOException e) {
                return new IOException(target + ": cannot write: " + e.getMessage(), e);
            }
        };
    }

    /** The file behind target opened for writing without replacing it (a dangling link's file is created). */
    private static OutputStream openThrough(Path target) throws IOException {
        return Files.newOutputStream(target, StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
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
