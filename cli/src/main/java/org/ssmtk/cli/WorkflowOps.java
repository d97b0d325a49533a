package org.ssmtk.cli;

import org.ssmtk.workflows.descriptor.OpCatalog;
import org.ssmtk.workflows.descriptor.ParamSpec;
import org.ssmtk.workflows.descriptor.ParamSpec.Kind;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The workflow ops: every registered {@code group.command} except the workflow group itself (a step
 * that runs a workflow could recurse). Each option's kind comes from its one declaration, so a
 * new command is usable from descriptors without listing it twice: {@link Opt#kind()} says whether an
 * option is a flag, a plain value, a path read ({@link Opt#input}, {@link Opt#labeledInput}: NAME=PATH)
 * or a path written ({@link Opt#output}).
 */
final class WorkflowOps implements OpCatalog {
    private final Map<String, Map<String, ParamSpec>> ops = new LinkedHashMap<>();

    WorkflowOps() {
        for (CommandGroup g : Main.groups()) {
            if (g.name().equals(WorkflowCommands.GROUP)) continue;
            for (Command c : g.commands()) {
                Map<String, ParamSpec> params = new LinkedHashMap<>();
                for (Opt<?> o : c.options()) params.put(o.name(), new ParamSpec(o.name(), kind(o), o.isRequired()));
                ops.put(g.name() + "." + c.name(), Map.copyOf(params));
            }
        }
    }

    /** What the option's declaration says it is. */
    static Kind kind(Opt<?> o) {
        return switch (o.kind()) {
            case FLAG -> Kind.FLAG;
            case VALUE -> Kind.VALUE;
            case INPUT -> Kind.INPUT;
            case LABELED_INPUT -> Kind.LABELED_INPUT;
            case OUTPUT -> Kind.OUTPUT;
        };
    }

    public Set<String> ops() {
        return new TreeSet<>(ops.keySet());
    }

    public Map<String, ParamSpec> params(String op) {
        return ops.get(op);
    }
}
