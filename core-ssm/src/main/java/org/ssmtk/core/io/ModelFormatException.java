package org.ssmtk.core.io;

import java.io.IOException;

/** A model directory whose config or tensors do not describe a valid Mamba model. */
public final class ModelFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(String message) {
        super(message);
    }
}
