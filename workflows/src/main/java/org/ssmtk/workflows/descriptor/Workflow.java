package org.ssmtk.workflows.descriptor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A validated descriptor: steps in topological order (a step after everything it needs; ties in file
 * order), the folder relative input paths resolve against, and the paths declared as inputs, which
 * alone may lie outside that folder.
 */
public record Workflow(String name, Path file, Path folder, List<Path> inputs, List<Step> steps, Map<String, Map<String, ParamSpec>> specs) {
    public Workflow {
        inputs = List.copyOf(inputs);
        steps = List.copyOf(steps);
        specs = Map.copyOf(specs);
    }

    public Step step(String id) {
        for (Step s : steps) if (s.id().equals(id)) return s;
        return null;
    }

    /** The DAG as a Mermaid flowchart. */
    public String mermaid() {
        StringBuilder b = new StringBuilder("flowchart TD\n");
        for (Step s : steps) b.append("  ").append(node(s.id())).append("[\"").append(s.id()).append("<br/>").append(s.op()).append("\"]\n");
        for (Step s : steps) for (String n : s.needs()) b.append("  ").append(node(n)).append(" --> ").append(node(s.id())).append('\n');
        return b.toString();
    }

    /** The DAG as Graphviz DOT (node ids quoted, so any step id is safe). */
    public String dot() {
        StringBuilder b = new StringBuilder("digraph \"" + name.replace("\"", "\\\"") + "\" {\n  rankdir=TB;\n  node [shape=box, style=rounded];\n");
        for (Step s : steps) b.append("  \"").append(s.id()).append("\" [label=\"").append(s.id()).append("\\n").append(s.op()).append("\"];\n");
        for (Step s : steps) for (String n : s.needs()) b.append("  \"").append(n).append("\" -> \"").append(s.id()).append("\";\n");
        return b.append("}\n").toString();
    }

    /** Each step's depth: 0 for steps that need nothing, else one more than the deepest step it needs. */
    public Map<String, Integer> depths() {
        Map<String, Integer> d = new java.util.LinkedHashMap<>();
        for (Step s : steps) d.put(s.id(), s.needs().stream().mapToInt(n -> d.get(n) + 1).max().orElse(0)); // topological order: needs come first
        return d;
    }

    // Mermaid reserves a few words ("end") and reads '-' specially in some positions; a prefix avoids both.
    private static String node(String id) {
        return "s_" + id.replace('-', '_');
    }

    /** The ids of every step {@code id} needs, directly or not. */
    public Set<String> upstream(String id) {
        Set<String> seen = new HashSet<>();
        List<String> todo = new ArrayList<>(step(id).needs());
        while (!todo.isEmpty()) {
            String n = todo.removeLast();
            if (seen.add(n)) todo.addAll(step(n).needs());
        }
        return seen;
    }
}
