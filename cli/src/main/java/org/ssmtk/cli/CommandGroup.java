package org.ssmtk.cli;

import java.util.List;

/** A group of commands: {@code ssmtk model ...}, {@code ssmtk bench ...}. */
public record CommandGroup(String name, String summary, List<Command> commands) {
    public Command find(String command) {
        for (Command c : commands) if (c.name().equals(command)) return c;
        return null;
    }
}
