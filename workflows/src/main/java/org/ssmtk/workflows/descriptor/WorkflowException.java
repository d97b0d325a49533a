package org.ssmtk.workflows.descriptor;

/** A descriptor that cannot be run, or a run that stopped; the message is one line for the user. */
public class WorkflowException extends Exception {
    public WorkflowException(String message) {
        super(message);
    }
}
