package org.ssmtk.core.train;

/** The loss or the gradients became NaN or infinite: the run stops, keeping its last good checkpoint. */
public final class TrainingDivergedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TrainingDivergedException(String message) {
        super(message);
    }
}
