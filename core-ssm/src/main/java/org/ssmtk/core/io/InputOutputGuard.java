package org.ssmtk.core.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Refuses a command whose output names one of its inputs (or another of its outputs) before anything
 * is read or written: {@code --fasta a.fa --output a.fa} would otherwise replace the input with its own
 * half-computed result. Two paths are the same file when they are equal once made absolute and
 * normalized, or when both exist and {@link Files#isSameFile} says so (through symbolic links, and
 * hard links by inode). Special files ({@code /dev/null}, {@code /dev/stdout}, FIFOs) are exempt: two
 * outputs may well both go to {@code /dev/null}. {@code -} (standard input or output) is not a path.
 */
public final class InputOutputGuard {
    private InputOutputGuard() {}

    /** One path argument of a command: its option (e.g. {@code --fasta}, for the message) and its value. */
    public record Arg(String option, Path path) {}

    /** The one-line refusal; an IOException so that command lines report it as bad input (exit 1). */
    public static final class SameFileException extends IOException {
        public SameFileException(String message) {
            super(message);
        }
    }

    public static void check(List<Arg> inputs, List<Arg> outputs) throws SameFileException {
        List<Arg> seen = new ArrayList<>();
        for (Arg o : outputs) {
            if (skip(o.path())) continue;
            for (Arg i : inputs)
                if (!skip(i.path()) && same(o.path(), i.path()))
                    throw new SameFileException(o.option() + " " + o.path() + " is the same file as " + i.option() + " " + i.path()
                            + " (an input): refusing to write over it; choose another output path");
            for (Arg s : seen)
                if (same(o.path(), s.path()))
                    throw new SameFileException(o.option() + " " + o.path() + " is the same file as " + s.option() + " " + s.path()
                            + ": two outputs cannot share one path");
            seen.add(o);
        }
    }

    private static boolean skip(Path p) {
        if (p.toString().equals("-")) return true;
        // a FIFO or device (behind links or not) is streamed, never replaced
        return Files.exists(p) && !Files.isRegularFile(p) && !Files.isDirectory(p);
    }

    static boolean same(Path a, Path b) {
        if (a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize())) return true;
        if (!Files.exists(a) || !Files.exists(b)) {
            // a dangling link to the other path: writing through it lands on that file
            return Files.isSymbolicLink(a) && linksTo(a, b) || Files.isSymbolicLink(b) && linksTo(b, a);
        }
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean linksTo(Path link, Path other) {
        try {
            Path t = link.toAbsolutePath().getParent().resolve(Files.readSymbolicLink(link));
            return t.normalize().equals(other.toAbsolutePath().normalize());
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
