package org.ssmtk.core.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file that breaks the format. The message always names the file and, where one is
 * involved, the tensor, so that a pipeline log line is enough to find the culprit.
 */
public final class SafeTensorsFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public SafeTensorsFormatException(Path file, String tensor, String problem) {
        super(file + (tensor == null ? "" : ": tensor '" + tensor + "'") + ": " + problem);
    }
}
