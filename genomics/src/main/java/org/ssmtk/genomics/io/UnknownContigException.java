package org.ssmtk.genomics.io;

import java.nio.file.Path;
import java.util.List;

/** A contig asked for by name that the FASTA does not hold. */
public final class UnknownContigException extends FastaException {
    private final String contig;

    public UnknownContigException(Path file, String contig, List<String> present) {
        super(file, "no contig named '" + contig + "' (it has " + present.size() + ": " + preview(present) + ")");
        this.contig = contig;
    }

    public String contig() {
        return contig;
    }

    private static String preview(List<String> names) {
        if (names.size() <= 5) return String.join(", ", names);
        return String.join(", ", names.subList(0, 5)) + ", ...";
    }
}
