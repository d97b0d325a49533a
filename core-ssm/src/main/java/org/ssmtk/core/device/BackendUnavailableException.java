package org.ssmtk.core.device;

/**
 * The backend asked for cannot run here: no usable GPU for {@code cuda}, a precision the device does
 * not have, a device name that does not exist. A choice the user can change, unlike the
 * IllegalArgumentExceptions of the operations, which are bugs.
 */
public final class BackendUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BackendUnavailableException(String message) {
        super(message);
    }

    public BackendUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
