package org.ssmtk.genomics.variant;

import java.io.IOException;
import java.nio.file.Path;

/** A VCF that cannot be scored as it is; the message starts with the file (and the record, where there is one). */
public final class VariantInputException extends IOException {
    public VariantInputException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public VariantInputException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
