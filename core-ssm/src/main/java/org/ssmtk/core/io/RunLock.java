package org.ssmtk.core.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One run at a time per output folder: two trainings started into one {@code --out} would each write
 * checkpoints, metrics and the model, and the last to finish would silently replace the other's. The
 * lock is an OS file lock on {@code OUT/.ssmtk.lock} (released by the OS if the process dies, so a
 * killed run never blocks the next one); a second run, in this process or another, fails at once.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = ".ssmtk.lock";
    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** Locks dir (created if missing) or throws an IOException whose message says which run holds it. */
    public static RunLock acquire(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(FILE);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) { // held by this JVM (a workflow runs steps in-process)
            lock = null;
        } catch (IOException e) {
            ch.close();
            throw new IOException(file + ": cannot lock the run folder: " + e.getMessage(), e);
        }
        if (lock == null) {
            ch.close();
            throw new IOException(dir + ": another ssmtk run is writing to this folder (it holds " + file
                    + "); wait for it or choose another --out");
        }
        return new RunLock(file, ch, lock);
    }

    @Override
    public void close() throws IOException {
        try {
            // removed while still held, so no other run can lock the file that is going away
            Files.deleteIfExists(file);
            lock.release();
        } finally {
            channel.close();
        }
    }
}
