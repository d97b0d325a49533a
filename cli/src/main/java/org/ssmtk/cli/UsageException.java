package org.ssmtk.cli;

/** Wrong or missing options, or input the user must fix: exit code 1, one line on stderr. */
public final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
