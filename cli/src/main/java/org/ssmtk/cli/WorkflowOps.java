package org.ssmtk.cli;

import org.apache.commons.cli.Option;
import org.ssmtk.workflows.descriptor.OpCatalog;
import org.ssmtk.workflows.descriptor.ParamSpec;
import org.ssmtk.workflows.descriptor.ParamSpec.Kind;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The workflow ops: every registered {@code group.command} except the workflow group itself (a step
 * that runs a workflow could recurse). Each option's kind comes from its commons-cli declaration, so a
 * new command is usable from descriptors without listing it twice: no argument is a flag; --out and
 * --output are written; an argument named like a file (DIR, FILE, FASTA, BED, WAV, *.json) is read, and
 * NAME=... is a labelled read.
 */
final class WorkflowOps implements OpCatalog {
    private static final Pattern PATH_ARG = Pattern.compile(".*(DIR|FILE|FASTA|BED|WAV|\\.json).*");
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

    static Kind kind(Option o) {
        if (!o.hasArg()) return Kind.FLAG;
        if (o.getLongOpt().equals("out") || o.getLongOpt().equals("output")) return Kind.OUTPUT;
        String arg = o.getArgName() == null ? "" : o.getArgName();
        if (!PATH_ARG.matcher(arg).matches()) return Kind.VALUE;
        return arg.startsWith("NAME=") ? Kind.LABELED_INPUT : Kind.INPUT;
    }

    public Set<String> ops() {
        return new TreeSet<>(ops.keySet());
    }

    public Map<String, ParamSpec> params(String op) {
        return ops.get(op);
    }
}
