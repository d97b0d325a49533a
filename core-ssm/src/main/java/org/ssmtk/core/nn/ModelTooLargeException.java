package org.ssmtk.core.nn;

/** A fresh model whose weights alone would not fit in this JVM: the configuration is the user's to fix. */
public final class ModelTooLargeException extends RuntimeException {
    public ModelTooLargeException(String message) {
        super(message);
    }
}
