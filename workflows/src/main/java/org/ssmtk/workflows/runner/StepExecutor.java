package org.ssmtk.workflows.runner;

import java.io.PrintStream;

/** Runs one ssmtk command line ({@code group command --opt value ...}) and returns its exit code. */
@FunctionalInterface
public interface StepExecutor {
    int run(String[] args, PrintStream out, PrintStream err) throws Exception;
}
