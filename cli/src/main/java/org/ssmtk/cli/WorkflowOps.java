package org.ssmtk.cli;

import org.apache.commons.cli.Option;
import org.ssmtk.workflows.descriptor.OpCatalog;
import org.ssmtk.workflows.descriptor.ParamSpec;
import org.ssmtk.workflows.descriptor.ParamSpec.Kind;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The workflow ops: every registered {@code group.command} except the workflow group itself (a step
 * that runs a workflow could recurse). Each option's kind comes from its commons-cli declaration, so a
 * new command is usable from descriptors without listing it twice: no argument is a flag; options made
 * by CommonOptions' *Output factories are written, those made by its *Input factories are read
 * (NAME=... a labelled read), and every other argument is a plain value.
 */
final class WorkflowOps implements OpCatalog {
    private final Map<String, Map<String, ParamSpec>> ops = new LinkedHashMap<>();

    WorkflowOps() {
        for (CommandGroup g : Main.groups()) {
            if (g.name().equals(WorkflowCommands.GROUP)) continue;
            for (Command c : g.commands()) {
                Map<String, ParamSpec> params = new LinkedHashMap<>();
                for (Option o : c.options().getOptions())
                    if (o.getLongOpt() != null) params.put(o.getLongOpt(), new ParamSpec(o.getLongOpt(), kind(o), o.isRequired()));
                ops.put(g.name() + "." + c.name(), Map.copyOf(params));
            }
        }
    }

    /** What the option declares itself to be (CommonOptions' input and output options). */
    static Kind kind(Option o) {
        if (!o.hasArg()) return Kind.FLAG;
        if (o.getType() == CommonOptions.OutputPath.class) return Kind.OUTPUT;
        if (o.getType() != CommonOptions.InputPath.class) return Kind.VALUE;
        return o.getArgName() != null && o.getArgName().startsWith("NAME=") ? Kind.LABELED_INPUT : Kind.INPUT;
    }

    public Set<String> ops() {
        return new TreeSet<>(ops.keySet());
    }

    public Map<String, ParamSpec> params(String op) {
        return ops.get(op);
    }
}
