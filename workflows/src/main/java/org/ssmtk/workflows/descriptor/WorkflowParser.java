package org.ssmtk.workflows.descriptor;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a descriptor into a {@link Workflow}. It walks SnakeYAML's node tree rather than binding to
 * objects so every error can name FILE:LINE:COLUMN of the offending key or value. Every error is a
 * {@link WorkflowException} with one line.
 *
 * <pre>
 * name: dna-classify
 * inputs: [../data/a.fa]          # paths outside this folder that steps may read
 * steps:
 *   - id: train
 *     op: dna.train-classifier
 *     params: {class: [A=a.fa, B=b.fa], out: run, steps: 20}
 *   - id: classify
 *     op: dna.classify
 *     needs: [train]
 *     params: {model: ${train}/run/model, fasta: a.fa, output: a.tsv}
 * </pre>
 *
 * Input paths resolve against the descriptor's folder; {@code ${ID}/rest} names a file under the work
 * directory of step ID, which must be listed in {@code needs} (so the order is explicit). Output paths
 * resolve inside the step's own work directory.
 */
public final class WorkflowParser {
    static final Set<String> TOP_KEYS = Set.of("name", "inputs", "steps");
    static final Set<String> STEP_KEYS = Set.of("id", "op", "params", "needs");
    static final Pattern ID = Pattern.compile("[A-Za-z][A-Za-z0-9_-]*");
    /** ${ID} at the start of a path: a file in another step's work directory. */
    public static final Pattern REF = Pattern.compile("^\\$\\{([^}]*)}(/.*)?$");

    /** A command-line override: STEP.PARAM=VALUE. */
    static final Pattern OVERRIDE = Pattern.compile("^([A-Za-z][A-Za-z0-9_-]*)\\.([A-Za-z0-9][A-Za-z0-9_-]*)=(.*)$");

    private final Path file;
    private final OpCatalog catalog;
    private final Map<String, Map<String, List<String>>> overrides = new LinkedHashMap<>(); // step -> param -> values

    private WorkflowParser(Path file, OpCatalog catalog) {
        this.file = file;
        this.catalog = catalog;
    }

    public static Workflow parse(Path file, OpCatalog catalog) throws WorkflowException, IOException {
        return parse(file, catalog, List.of());
    }

    /**
     * Reads a descriptor with {@code STEP.PARAM=VALUE} overrides applied (as {@code --param} on the
     * command line): they replace the descriptor's value, several for one param make a list, and they
     * are checked like the descriptor's own values (a flag takes true or false; paths may not escape).
     */
    public static Workflow parse(Path file, OpCatalog catalog, List<String> params) throws WorkflowException, IOException {
        WorkflowParser p = new WorkflowParser(file, catalog);
        for (String o : params) {
            Matcher m = OVERRIDE.matcher(o);
            if (!m.matches()) throw new WorkflowException("--param '" + o + "': expected STEP.PARAM=VALUE (e.g. train.steps=100)");
            p.overrides.computeIfAbsent(m.group(1), k -> new LinkedHashMap<>()).computeIfAbsent(m.group(2), k -> new ArrayList<>()).add(m.group(3));
        }
        return p.readFile();
    }

    private Workflow readFile() throws WorkflowException, IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new WorkflowException(file + ": no such file");
        }
        return read(new java.io.StringReader(text));
    }

    private WorkflowException err(Node at, String message) {
        return err(at.getStartMark(), message);
    }

    private WorkflowException err(Mark m, String message) {
        return new WorkflowException(m == null ? file + ": " + message : file + ":" + (m.getLine() + 1) + ":" + (m.getColumn() + 1) + ": " + message);
    }

    private Workflow read(Reader reader) throws WorkflowException {
        Node root;
        try {
            LoaderOptions lo = new LoaderOptions();
            lo.setAllowDuplicateKeys(false);
            root = new Yaml(lo).compose(reader);
        } catch (MarkedYAMLException e) {
            String problem = e.getProblem() == null ? e.getMessage() : e.getProblem();
            throw err(e.getProblemMark(), "invalid YAML: " + problem.replace('\n', ' '));
        } catch (YAMLException e) {
            throw new WorkflowException(file + ": invalid YAML: " + String.valueOf(e.getMessage()).replace('\n', ' '));
        }
        if (root == null) throw new WorkflowException(file + ": empty descriptor");
        new DescriptorSchema(catalog).validate(root, file.toString());
        Map<String, NodeTuple> top = mapping(root, "the descriptor", TOP_KEYS);
        String name = top.containsKey("name") ? scalar(top.get("name").getValueNode(), "name") : "workflow";
        Path folder = file.toAbsolutePath().getParent().normalize();

        List<Path> inputs = new ArrayList<>();
        if (top.containsKey("inputs")) for (Node n : sequence(top.get("inputs").getValueNode(), "inputs")) inputs.add(folder.resolve(scalar(n, "an input")).normalize());

        if (!top.containsKey("steps")) throw err(root, "missing key 'steps'");
        List<Node> stepNodes = sequence(top.get("steps").getValueNode(), "steps");
        if (stepNodes.isEmpty()) throw err(top.get("steps").getValueNode(), "'steps' is empty");
        Map<String, Step> steps = new LinkedHashMap<>();
        Map<String, Map<String, ParamSpec>> specs = new HashMap<>();
        Map<String, Node> needNodes = new HashMap<>();
        for (Node sn : stepNodes) {
            Map<String, NodeTuple> m = mapping(sn, "a step", STEP_KEYS);
            if (!m.containsKey("id")) throw err(sn, "step without 'id'");
            Node idNode = m.get("id").getValueNode();
            String id = scalar(idNode, "id");
            if (!ID.matcher(id).matches()) throw err(idNode, "step id '" + id + "' must be a letter followed by letters, digits, '-' or '_'");
            if (steps.containsKey(id)) throw err(idNode, "step id '" + id + "' given twice");
            if (!m.containsKey("op")) throw err(sn, "step '" + id + "' has no 'op'");
            Node opNode = m.get("op").getValueNode();
            String op = scalar(opNode, "op");
            Map<String, ParamSpec> spec = catalog.params(op);
            if (spec == null) throw err(opNode, "step '" + id + "': unknown op '" + op + "' (known: " + String.join(", ", new TreeSet<>(catalog.ops())) + ")");
            specs.put(op, spec);
            List<String> needs = new ArrayList<>();
            if (m.containsKey("needs")) {
                Node nn = m.get("needs").getValueNode();
                needNodes.put(id, nn);
                List<Node> list = nn instanceof ScalarNode ? List.of(nn) : sequence(nn, "needs");
                for (Node n : list) needs.add(scalar(n, "a needs entry"));
            }
            Map<String, Object> params = new LinkedHashMap<>();
            if (m.containsKey("params")) {
                Node pn = m.get("params").getValueNode();
                for (Map.Entry<String, NodeTuple> e : mapping(pn, "'params'", null).entrySet()) params.put(e.getKey(), param(id, op, spec, e.getValue()));
            }
            override(id, op, spec, params);
            for (ParamSpec p : spec.values())
                if (p.required() && !params.containsKey(p.name())) throw err(sn, "step '" + id + "' (" + op + ") is missing required param '" + p.name() + "'");
            steps.put(id, new Step(id, op, params, needs, sn.getStartMark().getLine() + 1));
        }
        for (String id : overrides.keySet())
            if (!steps.containsKey(id))
                throw new WorkflowException("--param " + id + "." + overrides.get(id).keySet().iterator().next() + ": " + file + " has no step '" + id
                        + "' (steps: " + String.join(", ", steps.keySet()) + ")");
        for (Step s : steps.values())
            for (String n : s.needs()) {
                if (!steps.containsKey(n)) throw err(needNodes.get(s.id()), "step '" + s.id() + "' needs unknown step '" + n + "'");
                if (n.equals(s.id())) throw err(needNodes.get(s.id()), "step '" + s.id() + "' needs itself");
            }
        List<Step> order = order(steps);
        Workflow wf = new Workflow(name, file, folder, inputs, order, specs);
        for (Step s : order) checkPaths(wf, s, stepNodes);
        return wf;
    }

    private void override(String id, String op, Map<String, ParamSpec> spec, Map<String, Object> params) throws WorkflowException {
        for (Map.Entry<String, List<String>> e : overrides.getOrDefault(id, Map.of()).entrySet()) {
            String where = "--param " + id + "." + e.getKey() + ": ";
            ParamSpec p = spec.get(e.getKey());
            if (p == null) throw new WorkflowException(where + "step '" + id + "' (" + op + ") has no param '" + e.getKey() + "' (known: " + String.join(", ", new TreeSet<>(spec.keySet())) + ")");
            if (p.kind() == ParamSpec.Kind.FLAG) {
                String v = e.getValue().getLast().toLowerCase(java.util.Locale.ROOT);
                if (e.getValue().size() > 1 || !(v.equals("true") || v.equals("false")))
                    throw new WorkflowException(where + "'" + e.getKey() + "' is a flag: give true or false, not '" + String.join("', '", e.getValue()) + "'");
                params.put(e.getKey(), Boolean.parseBoolean(v));
            } else {
                for (String v : e.getValue()) if (v.isBlank()) throw new WorkflowException(where + "empty value");
                params.put(e.getKey(), List.copyOf(e.getValue()));
            }
        }
    }

    private Object param(String id, String op, Map<String, ParamSpec> spec, NodeTuple t) throws WorkflowException {
        String key = ((ScalarNode) t.getKeyNode()).getValue();
        ParamSpec p = spec.get(key);
        if (p == null) throw err(t.getKeyNode(), "step '" + id + "': unknown param '" + key + "' for " + op + " (known: " + String.join(", ", new TreeSet<>(spec.keySet())) + ")");
        Node v = t.getValueNode();
        if (p.kind() == ParamSpec.Kind.FLAG) {
            if (!(v instanceof ScalarNode s) || !s.getTag().equals(Tag.BOOL))
                throw err(v, "step '" + id + "': param '" + key + "' is a flag: give true or false, not " + describe(v));
            return Boolean.parseBoolean(s.getValue().toLowerCase(java.util.Locale.ROOT));
        }
        List<String> values = new ArrayList<>();
        if (v instanceof SequenceNode seq) {
            if (seq.getValue().isEmpty()) throw err(v, "step '" + id + "': param '" + key + "' is an empty list");
            for (Node n : seq.getValue()) values.add(value(id, key, n));
        } else values.add(value(id, key, v));
        return values;
    }

    private String value(String id, String key, Node n) throws WorkflowException {
        if (!(n instanceof ScalarNode s) || s.getTag().equals(Tag.NULL))
            throw err(n, "step '" + id + "': param '" + key + "' takes a value (a string or number, or a list of them), not " + describe(n));
        return s.getValue();
    }

    private static String describe(Node n) {
        if (n instanceof MappingNode) return "a mapping";
        if (n instanceof SequenceNode) return "a list";
        ScalarNode s = (ScalarNode) n;
        if (s.getTag().equals(Tag.NULL)) return "an empty value";
        return "'" + s.getValue() + "'";
    }

    /** Kahn's algorithm, ties broken by file order; what is left when it stalls contains a cycle. */
    private List<Step> order(Map<String, Step> steps) throws WorkflowException {
        List<Step> out = new ArrayList<>();
        Set<String> done = new java.util.HashSet<>();
        boolean progress = true;
        while (out.size() < steps.size() && progress) {
            progress = false;
            for (Step s : steps.values())
                if (!done.contains(s.id()) && done.containsAll(s.needs())) {
                    out.add(s);
                    done.add(s.id());
                    progress = true;
                    break;
                }
        }
        if (out.size() == steps.size()) return out;
        // Walk needs from a stuck step until an id repeats: that loop is a cycle.
        String at = steps.values().stream().filter(s -> !done.contains(s.id())).findFirst().orElseThrow().id();
        List<String> path = new ArrayList<>();
        while (!path.contains(at)) {
            path.add(at);
            at = steps.get(at).needs().stream().filter(n -> !done.contains(n)).findFirst().orElseThrow();
        }
        List<String> cycle = new ArrayList<>(path.subList(path.indexOf(at), path.size()));
        java.util.Collections.reverse(cycle); // needs point backwards; show the order data flows
        // Start at the step that comes first in the file, so the message does not depend on where the walk began.
        String first = cycle.stream().min(java.util.Comparator.comparingInt(id -> steps.get(id).line())).orElseThrow();
        java.util.Collections.rotate(cycle, -cycle.indexOf(first));
        cycle.add(cycle.getFirst());
        throw new WorkflowException(file + ":" + steps.get(cycle.getFirst()).line() + ": cycle in needs: " + String.join(" -> ", cycle));
    }

    private void checkPaths(Workflow wf, Step s, List<Node> stepNodes) throws WorkflowException {
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        for (Map.Entry<String, Object> e : s.params().entrySet()) {
            ParamSpec p = spec.get(e.getKey());
            if (!(e.getValue() instanceof List<?> list)) continue;
            for (Object o : list) {
                String v = (String) o;
                String where = file + ":" + s.line() + ": step '" + s.id() + "': param '" + p.name() + "' ";
                switch (p.kind()) {
                    case OUTPUT -> {
                        fileName(where, v, v);
                        Path rel = Path.of(v), base = Path.of("/work/step"), n = base.resolve(rel).normalize();
                        if (rel.isAbsolute() || !n.startsWith(base) || n.equals(base))
                            throw new WorkflowException(where + "'" + v + "': an output must be a relative path inside the step's work directory");
                    }
                    case INPUT, LABELED_INPUT -> {
                        String path = v;
                        if (p.kind() == ParamSpec.Kind.LABELED_INPUT) {
                            int eq = v.indexOf('=');
                            if (eq < 0) throw new WorkflowException(where + "'" + v + "' must be NAME=PATH");
                            path = v.substring(eq + 1);
                            if (!v.substring(0, eq).matches("[A-Za-z0-9_.+-]+"))
                                throw new WorkflowException(where + "'" + v + "': the NAME in NAME=PATH may hold only letters, digits and _ . + -");
                        }
                        Matcher ref = REF.matcher(path);
                        fileName(where, v, ref.matches() ? (ref.group(2) == null ? "" : ref.group(2)) : path);
                        resolveInput(wf, s, path, where);
                    }
                    default -> {}
                }
            }
        }
    }

    /**
     * A path value must be a plain file name: letters, digits, space and {@code . _ - + = , @ % : ~ /}.
     * Anything else (; | & $ ` ' " \\ < > ( ) { } * ? [ ] ! # and control characters) is refused: it
     * would mean something to the shell of an exported Nextflow module or to a glob, and no sensible
     * data file is named with it.
     */
    static void fileName(String where, String value, String path) throws WorkflowException {
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (Character.isLetterOrDigit(c) || " ._-+=,@%:~/".indexOf(c) >= 0) continue;
            String shown = Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c);
            throw new WorkflowException(where + "'" + value.replaceAll("\\p{Cntrl}", "?") + "': '" + shown + "' cannot be part of a file name here"
                    + " (paths may hold letters, digits, space and . _ - + = , @ % : ~ /)");
        }
    }

    /**
     * Checks an input path and returns it resolved against {@code work} (for ${ID} references; null
     * means "not yet known", for validation only) or the descriptor's folder.
     */
    static Path resolveInput(Workflow wf, Step s, String path, String where) throws WorkflowException {
        return resolveInput(wf, s, path, where, null);
    }

    public static Path resolveInput(Workflow wf, Step s, String path, String where, Path work) throws WorkflowException {
        Matcher m = REF.matcher(path);
        if (m.matches()) {
            String ref = m.group(1), rest = m.group(2) == null ? "" : m.group(2).substring(1);
            if (!wf.upstream(s.id()).contains(ref))
                throw new WorkflowException(where + "'" + path + "' refers to step '" + ref + "', which this step does not need (add it to needs)");
            Path base = Path.of("/x").resolve(ref);
            if (!base.resolve(rest).normalize().startsWith(base)) throw new WorkflowException(where + "'" + path + "' leaves step '" + ref + "''s work directory");
            return work == null ? null : work.resolve(ref).resolve(rest).normalize();
        }
        if (path.contains("${")) throw new WorkflowException(where + "'" + path + "': ${ID} may only start a path");
        Path p = wf.folder().resolve(path).normalize();
        if (!p.startsWith(wf.folder()) && wf.inputs().stream().noneMatch(p::startsWith))
            throw new WorkflowException(where + "'" + path + "' escapes the descriptor's folder " + wf.folder() + " (declare it under 'inputs' to allow it)");
        return p;
    }

    /** A mapping's entries by key; {@code allowed} null accepts any key. */
    private Map<String, NodeTuple> mapping(Node n, String what, Set<String> allowed) throws WorkflowException {
        if (!(n instanceof MappingNode mn)) throw err(n, what + " must be a mapping, not " + describe(n));
        Map<String, NodeTuple> out = new LinkedHashMap<>();
        for (NodeTuple t : mn.getValue()) {
            if (!(t.getKeyNode() instanceof ScalarNode k)) throw err(t.getKeyNode(), "keys must be plain words");
            if (allowed != null && !allowed.contains(k.getValue()))
                throw err(k, "unknown key '" + k.getValue() + "' in " + what + " (allowed: " + String.join(", ", new TreeSet<>(allowed)) + ")");
            out.put(k.getValue(), t);
        }
        return out;
    }

    private List<Node> sequence(Node n, String what) throws WorkflowException {
        if (!(n instanceof SequenceNode s)) throw err(n, "'" + what + "' must be a list, not " + describe(n));
        return s.getValue();
    }

    private String scalar(Node n, String what) throws WorkflowException {
        if (!(n instanceof ScalarNode s) || s.getTag().equals(Tag.NULL) || s.getValue().isBlank())
            throw err(n, what + " must be a non-empty string, not " + describe(n));
        return s.getValue();
    }
}
