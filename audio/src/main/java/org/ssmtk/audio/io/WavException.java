package org.ssmtk.audio.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A WAV file that cannot be used: corrupt, truncated, an encoding we do not decode, or no samples.
 * The message starts with the file so that a one-line CLI error says which input to fix.
 */
public class WavException extends IOException {
    public WavException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
