package org.ssmtk.genomics.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A FASTA file that cannot be read as asked: malformed, truncated, empty, or without the contig
 * requested. The message always starts with the file, so that a pipeline's one-line error says
 * which input to fix.
 */
public class FastaException extends IOException {
    private final transient Path file;

    public FastaException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public FastaException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
