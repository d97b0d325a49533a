package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;

import java.io.PrintStream;
import java.util.List;

/** One leaf of {@code ssmtk <group> <command>}. */
public interface Command {
    String name();

    /** One line for the group's help. */
    String summary();

    /** Extra text after the option list in --help: examples, output format. */
    default String footer() {
        return "";
    }

    /** Every option, declared once each ({@link Opt}): parsing, --help and workflows' param kinds all read these. */
    List<Opt<?>> options();

    /** Runs the command; returns the exit code (0 on success). */
    int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception;
}
