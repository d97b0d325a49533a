package org.ssmtk.workflows.descriptor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The descriptor's JSON Schema: {@code workflow.schema.json} (the structure, in this module's
 * resources) completed with the op catalog (every op, its params and their types: a flag is a boolean,
 * a value a string/number or a list of them, required params required). A descriptor's YAML node tree
 * is converted to JSON and checked with networknt's validator (draft 2020-12); each violation is
 * mapped back to the YAML node it concerns, so the error names FILE:LINE:COLUMN, and worded for
 * people (unknown key, wrong type, missing param) rather than in the validator's terms.
 */
public final class DescriptorSchema {
    public static final String RESOURCE = "/org/ssmtk/workflows/workflow.schema.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final OpCatalog catalog;
    private final JsonNode schemaJson;
    private final JsonSchema schema;

    public DescriptorSchema(OpCatalog catalog) {
        this.catalog = catalog;
        this.schemaJson = full(catalog);
        this.schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schemaJson);
    }

    /** The structural schema as shipped. */
    public static ObjectNode base() {
        try (InputStream in = DescriptorSchema.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException(RESOURCE + " is missing from the jar");
            return (ObjectNode) JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The schema with every op of {@code catalog}: what {@code ssmtk workflow schema} prints. */
    public static ObjectNode full(OpCatalog catalog) {
        ObjectNode s = base();
        ObjectNode step = (ObjectNode) s.at("/$defs/step");
        ArrayNode ops = ((ObjectNode) step.at("/properties/op")).putArray("enum");
        ArrayNode allOf = step.putArray("allOf");
        for (String op : new TreeSet<>(catalog.ops())) {
            ops.add(op);
            Map<String, ParamSpec> spec = catalog.params(op);
            ObjectNode params = JsonNodeFactory.instance.objectNode().put("type", "object").put("additionalProperties", false);
            ObjectNode props = params.putObject("properties");
            ArrayNode required = JsonNodeFactory.instance.arrayNode();
            for (ParamSpec p : new TreeSet<>(spec.keySet()).stream().map(spec::get).toList()) {
                props.putObject(p.name()).put("$ref", switch (p.kind()) {
                    case FLAG -> "#/$defs/flag";
                    case VALUE -> "#/$defs/scalarOrList";
                    case INPUT, LABELED_INPUT, OUTPUT -> "#/$defs/path";
                });
                if (p.required()) required.add(p.name());
            }
            ObjectNode rule = allOf.addObject();
            rule.putObject("if").putObject("properties").putObject("op").put("const", op);
            ObjectNode then = rule.putObject("then");
            then.putObject("properties").set("params", params);
            if (!required.isEmpty()) {
                params.set("required", required);
                then.putArray("required").add("params");
            }
        }
        ObjectNode scalarOrList = ((ObjectNode) s.get("$defs")).putObject("scalarOrList");
        scalarOrList.putArray("type").add("string").add("number").add("array");
        scalarOrList.put("minItems", 1).putObject("items").putArray("type").add("string").add("number");
        return s;
    }

    /** Throws the first violation (by position in the file) as FILE:LINE:COL: message. */
    public void validate(Node root, String file) throws WorkflowException {
        JsonNode doc = toJson(root);
        Set<ValidationMessage> messages = schema.validate(doc);
        if (messages.isEmpty()) return;
        List<Problem> problems = new ArrayList<>();
        for (ValidationMessage m : messages) problems.add(explain(root, m, m.getType().equals("required")));
        // A missing key is often a misspelt one: report the misspelling (or any other problem) before it.
        problems.sort(Comparator.comparing((Problem p) -> p.missing).thenComparingInt(p -> p.at == null ? -1 : p.at.getLine())
                .thenComparingInt(p -> p.at == null ? -1 : p.at.getColumn()));
        Problem first = problems.getFirst();
        throw new WorkflowException(first.at == null ? file + ": " + first.text
                : file + ":" + (first.at.getLine() + 1) + ":" + (first.at.getColumn() + 1) + ": " + first.text);
    }

    private record Problem(Mark at, String text, boolean missing) {
        Problem(Mark at, String text) {
            this(at, text, false);
        }
    }

    private Problem explain(Node root, ValidationMessage m, boolean missing) {
        Problem p = explain(root, m);
        return new Problem(p.at(), p.text(), missing);
    }

    private Problem explain(Node root, ValidationMessage m) {
        List<Object> path = new ArrayList<>();
        var loc = m.getInstanceLocation();
        for (int i = 0; i < loc.getNameCount(); i++) path.add(loc.getElement(i));
        Node node = find(root, path);
        String where = context(root, path);
        String step = stepId(root, path);
        String op = stepOp(root, path);
        String type = m.getType();
        switch (type) {
            case "additionalProperties" -> {
                String key = m.getProperty();
                Node keyNode = keyNode(node, key);
                Mark at = keyNode == null ? mark(node) : keyNode.getStartMark();
                if (path.size() == 3 && "params".equals(path.get(2)) && op != null && catalog.params(op) != null)
                    return new Problem(at, "step '" + step + "': unknown param '" + key + "' for " + op + " (known: " + String.join(", ", new TreeSet<>(catalog.params(op).keySet())) + ")");
                Set<String> allowed = path.isEmpty() ? WorkflowParser.TOP_KEYS : WorkflowParser.STEP_KEYS;
                return new Problem(at, "unknown key '" + key + "' in " + where + " (allowed: " + String.join(", ", new TreeSet<>(allowed)) + ")");
            }
            case "required" -> {
                String key = m.getProperty();
                if (path.size() == 2 && key.equals("params") || path.size() == 3 && "params".equals(path.get(2))) {
                    Node stepNode = find(root, path.subList(0, 2));
                    String missing = key;
                    if (key.equals("params") && op != null && catalog.params(op) != null)
                        missing = catalog.params(op).values().stream().filter(ParamSpec::required).map(ParamSpec::name).sorted().findFirst().orElse(key);
                    return new Problem(mark(stepNode), "step '" + step + "' (" + op + ") is missing required param '" + missing + "'");
                }
                if (path.isEmpty()) return new Problem(mark(node), "missing key '" + key + "'");
                return new Problem(mark(node), (path.size() == 2 ? (step == null ? "a step" : "step '" + step + "'") : where) + " has no '" + key + "'");
            }
            case "type" -> {
                if (path.size() == 4 && "params".equals(path.get(2))) {
                    String key = String.valueOf(path.get(3));
                    ParamSpec p = op == null || catalog.params(op) == null ? null : catalog.params(op).get(key);
                    if (p != null && p.kind() == ParamSpec.Kind.FLAG)
                        return new Problem(mark(node), "step '" + step + "': param '" + key + "' is a flag: give true or false, not " + describe(node));
                    return new Problem(mark(node), "step '" + step + "': param '" + key + "' takes a value (a string or number, or a list of them), not " + describe(node));
                }
                if (path.size() == 5 && "params".equals(path.get(2)))
                    return new Problem(mark(node), "step '" + step + "': param '" + path.get(3) + "' takes a value (a string or number, or a list of them), not " + describe(node) + " in its list");
                return new Problem(mark(node), where + " must be " + expected(m) + ", not " + describe(node));
            }
            case "enum" -> {
                return new Problem(mark(node), "step '" + step + "': unknown op '" + scalar(node) + "' (known: " + String.join(", ", new TreeSet<>(catalog.ops())) + ")");
            }
            case "pattern" -> {
                if (path.size() == 3 && "id".equals(path.get(2)))
                    return new Problem(mark(node), "step id '" + scalar(node) + "' must be a letter followed by letters, digits, '-' or '_'");
                if (path.size() == 3 && "op".equals(path.get(2)))
                    return new Problem(mark(node), "step '" + step + "': op '" + scalar(node) + "' must be group.command (e.g. dna.classify)");
                return new Problem(mark(node), where + " '" + scalar(node) + "' does not match " + m.getArguments()[0]);
            }
            case "minItems" -> {
                if (path.size() == 1 && "steps".equals(path.getFirst())) return new Problem(mark(node), "'steps' is empty");
                if (path.size() == 4 && "params".equals(path.get(2))) return new Problem(mark(node), "step '" + step + "': param '" + path.get(3) + "' is an empty list");
                return new Problem(mark(node), where + " is an empty list");
            }
            case "minLength" -> {
                return new Problem(mark(node), where + " is empty");
            }
            default -> {
                String text = m.getMessage();
                return new Problem(mark(node), where + ": " + text.substring(text.indexOf(':') + 1).strip());
            }
        }
    }

    private static String expected(ValidationMessage m) {
        String e = m.getArguments().length > 1 ? String.valueOf(m.getArguments()[1]) : "?";
        return switch (e) {
            case "array" -> "a list";
            case "object" -> "a mapping";
            case "string" -> "a non-empty string";
            case "[string, array]", "[\"string\",\"array\"]" -> "a string or a list of strings";
            default -> e;
        };
    }

    /** A readable name for the node at {@code path}: the descriptor, 'steps', a step, step 'a' params, ... */
    private static String context(Node root, List<Object> path) {
        if (path.isEmpty()) return "the descriptor";
        if (path.size() == 1) return "'" + path.getFirst() + "'";
        String step = stepId(root, path);
        String s = step == null ? "a step" : "step '" + step + "'";
        if (path.size() == 2) return s;
        if (path.size() == 3) return s + ": '" + path.get(2) + "'";
        return s + ": '" + path.get(2) + "' entry " + path.get(3);
    }

    private static String stepId(Node root, List<Object> path) {
        if (path.size() < 2 || !"steps".equals(path.getFirst())) return null;
        Node id = find(root, List.of("steps", path.get(1), "id"));
        return id instanceof ScalarNode s && !s.getValue().isBlank() ? s.getValue() : null;
    }

    private static String stepOp(Node root, List<Object> path) {
        if (path.size() < 2 || !"steps".equals(path.getFirst())) return null;
        Node op = find(root, List.of("steps", path.get(1), "op"));
        return op instanceof ScalarNode s ? s.getValue() : null;
    }

    private static Node find(Node n, List<Object> path) {
        for (Object e : path) {
            if (n instanceof MappingNode m && e instanceof String k) {
                Node next = null;
                for (NodeTuple t : m.getValue()) if (t.getKeyNode() instanceof ScalarNode s && s.getValue().equals(k)) next = t.getValueNode();
                n = next;
            } else if (n instanceof SequenceNode s && e instanceof Integer i && i < s.getValue().size()) n = s.getValue().get(i);
            else return null;
            if (n == null) return null;
        }
        return n;
    }

    private static Node keyNode(Node n, String key) {
        if (n instanceof MappingNode m)
            for (NodeTuple t : m.getValue()) if (t.getKeyNode() instanceof ScalarNode s && s.getValue().equals(key)) return s;
        return null;
    }

    private static Mark mark(Node n) {
        return n == null ? null : n.getStartMark();
    }

    private static String scalar(Node n) {
        return n instanceof ScalarNode s ? s.getValue() : describe(n);
    }

    static String describe(Node n) {
        if (n == null) return "nothing";
        if (n instanceof MappingNode) return "a mapping";
        if (n instanceof SequenceNode) return "a list";
        ScalarNode s = (ScalarNode) n;
        if (s.getTag().equals(Tag.NULL)) return "an empty value";
        return "'" + s.getValue() + "'";
    }

    /** YAML nodes to JSON values with YAML's own typing of scalars (int, float, bool, null, string). */
    static JsonNode toJson(Node n) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        if (n instanceof MappingNode m) {
            ObjectNode o = f.objectNode();
            for (NodeTuple t : m.getValue())
                o.set(t.getKeyNode() instanceof ScalarNode k ? k.getValue() : "?", toJson(t.getValueNode()));
            return o;
        }
        if (n instanceof SequenceNode s) {
            ArrayNode a = f.arrayNode();
            for (Node e : s.getValue()) a.add(toJson(e));
            return a;
        }
        ScalarNode s = (ScalarNode) n;
        String v = s.getValue();
        try {
            if (s.getTag().equals(Tag.NULL)) return f.nullNode();
            if (s.getTag().equals(Tag.BOOL)) return f.booleanNode(Boolean.parseBoolean(v.toLowerCase(java.util.Locale.ROOT)));
            if (s.getTag().equals(Tag.INT)) return f.numberNode(new BigInteger(v.replace("_", "")));
            if (s.getTag().equals(Tag.FLOAT)) return f.numberNode(Double.parseDouble(v.replace("_", "")));
        } catch (NumberFormatException e) {
            // YAML 1.1 forms Java does not parse (0x, 0o, sexagesimal, .inf): keep them as text, which params accept too
        }
        return f.textNode(v);
    }
}
