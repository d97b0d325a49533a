package org.ssmtk.workflows.runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.workflows.descriptor.ParamSpec;
import org.ssmtk.workflows.descriptor.Step;
import org.ssmtk.workflows.descriptor.Workflow;
import org.ssmtk.workflows.descriptor.WorkflowException;
import org.ssmtk.workflows.descriptor.WorkflowParser;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs a workflow's steps one after another in topological order. Step ID works in WORK/ID (outputs
 * resolve there) and logs its stdout and stderr to WORK/ID.log. WORK/run.json, rewritten atomically
 * after every step, records each step's start, end, status, exit code, outputs and cache key; the key
 * hashes the op, the params as written and the bytes of every input (upstream outputs included, so a
 * changed upstream result re-runs what reads it). With resume, a step whose key matches a completed
 * record and whose outputs still exist is skipped.
 */
public final class WorkflowRunner {
    public static final String LOG = "run.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Workflow wf;
    private final Path work;
    private final StepExecutor exec;
    private final PrintStream progress;

    public WorkflowRunner(Workflow wf, Path work, StepExecutor exec, PrintStream progress) {
        this.wf = wf;
        this.work = work.toAbsolutePath().normalize();
        this.exec = exec;
        this.progress = progress;
    }

    /** What happened to one step in this run. */
    public enum Status { OK, CACHED, FAILED }

    public record Outcome(String step, Status status) {}

    /** Runs every step; throws, naming the failed step and its last error line, at the first failure. */
    public List<Outcome> run(boolean resume) throws WorkflowException, IOException {
        Files.createDirectories(work);
        Map<String, JsonNode> previous = resume ? previous() : Map.of();
        ObjectNode log = JSON.createObjectNode();
        log.put("workflow", wf.name());
        log.put("descriptor", wf.file().toAbsolutePath().normalize().toString());
        ArrayNode records = log.putArray("steps");
        List<Outcome> outcomes = new ArrayList<>();
        for (Step s : wf.steps()) {
            String key = cacheKey(s);
            List<Path> outputs = outputs(s);
            JsonNode before = previous.get(s.id());
            if (before != null && "ok".equals(before.path("status").asText()) && key.equals(before.path("hash").asText())
                    && outputs.stream().allMatch(Files::exists)) {
                ObjectNode r = ((ObjectNode) before.deepCopy()).put("status", "ok").put("cached", true);
                records.add(r);
                write(log);
                progress.println("workflow: " + s.id() + " (" + s.op() + "): cached, skipped");
                outcomes.add(new Outcome(s.id(), Status.CACHED));
                continue;
            }
            Path dir = work.resolve(s.id());
            deleteTree(dir); // a stale half-written output must not pass for this run's
            Files.createDirectories(dir);
            String[] args = args(s);
            ObjectNode r = records.addObject();
            r.put("step", s.id()).put("op", s.op()).put("hash", key).put("start", Instant.now().toString());
            ArrayNode outs = r.putArray("outputs");
            outputs.forEach(o -> outs.add(o.toString()));
            r.put("status", "running");
            write(log);
            progress.println("workflow: " + s.id() + " (" + s.op() + "): running");
            ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
            int code;
            try (OutputStream logFile = Files.newOutputStream(work.resolve(s.id() + ".log"));
                 PrintStream out = new PrintStream(logFile, true, StandardCharsets.UTF_8);
                 PrintStream err = new PrintStream(new Tee(logFile, errBytes), true, StandardCharsets.UTF_8)) {
                out.println("# ssmtk " + String.join(" ", args));
                try {
                    code = exec.run(args, out, err);
                } catch (Exception e) {
                    err.println(e);
                    code = 2;
                }
            }
            r.put("end", Instant.now().toString()).put("exit_code", code).put("status", code == 0 ? "ok" : "failed");
            write(log);
            if (code != 0) {
                outcomes.add(new Outcome(s.id(), Status.FAILED));
                List<String> lines = errBytes.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
                String why = lines.isEmpty() ? "no message" : lines.getLast();
                throw new WorkflowException("step '" + s.id() + "' (" + s.op() + ") failed with exit code " + code + ": " + why
                        + " (log: " + work.resolve(s.id() + ".log") + ")");
            }
            progress.println("workflow: " + s.id() + " (" + s.op() + "): done");
            outcomes.add(new Outcome(s.id(), Status.OK));
        }
        return outcomes;
    }

    private Map<String, JsonNode> previous() throws IOException {
        Path f = work.resolve(LOG);
        Map<String, JsonNode> out = new LinkedHashMap<>();
        if (!Files.exists(f)) return out;
        JsonNode root;
        try {
            root = JSON.readTree(f.toFile());
        } catch (IOException e) {
            // An unreadable log only costs the cache: everything re-runs.
            progress.println("workflow: " + f + " is unreadable (" + e.getMessage().lines().findFirst().orElse("") + "); running every step");
            return out;
        }
        for (JsonNode r : root.path("steps")) out.put(r.path("step").asText(), r);
        return out;
    }

    private void write(ObjectNode log) throws IOException {
        AtomicFiles.write(work.resolve(LOG), o -> JSON.writeValue(new NonClosing(o), log));
    }

    /** The command line: group, command, then --key value per value (a list repeats it), --key for true flags. */
    public String[] args(Step s) throws WorkflowException {
        List<String> a = new ArrayList<>(List.of(s.op().split("\\.", 2)));
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        for (Map.Entry<String, Object> e : s.params().entrySet()) {
            if (e.getValue() instanceof Boolean b) {
                if (b) a.add("--" + e.getKey());
                continue;
            }
            ParamSpec p = spec.get(e.getKey());
            for (Object o : (List<?>) e.getValue()) {
                a.add("--" + e.getKey());
                a.add(resolve(s, p, (String) o));
            }
        }
        return a.toArray(String[]::new);
    }

    private String resolve(Step s, ParamSpec p, String v) throws WorkflowException {
        String where = "step '" + s.id() + "': param '" + p.name() + "' ";
        return switch (p.kind()) {
            case OUTPUT -> work.resolve(s.id()).resolve(v).normalize().toString();
            case INPUT -> WorkflowParser.resolveInput(wf, s, v, where, work).toString();
            case LABELED_INPUT -> {
                int eq = v.indexOf('=');
                yield v.substring(0, eq + 1) + WorkflowParser.resolveInput(wf, s, v.substring(eq + 1), where, work);
            }
            default -> v;
        };
    }

    private List<Path> outputs(Step s) {
        List<Path> out = new ArrayList<>();
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        for (Map.Entry<String, Object> e : s.params().entrySet())
            if (spec.get(e.getKey()).kind() == ParamSpec.Kind.OUTPUT)
                for (Object o : (List<?>) e.getValue()) out.add(work.resolve(s.id()).resolve((String) o).normalize());
        return out;
    }

    /** SHA-256 over the op, the params as written and every input's bytes (a folder: each file by relative path). */
    public String cacheKey(Step s) throws WorkflowException, IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        update(md, "op", s.op());
        for (Map.Entry<String, Object> e : new java.util.TreeMap<>(s.params()).entrySet()) {
            update(md, "param", e.getKey() + "=" + e.getValue());
            ParamSpec p = spec.get(e.getKey());
            if (p.kind() != ParamSpec.Kind.INPUT && p.kind() != ParamSpec.Kind.LABELED_INPUT) continue;
            for (Object o : (List<?>) e.getValue()) {
                String v = (String) o;
                if (p.kind() == ParamSpec.Kind.LABELED_INPUT) v = v.substring(v.indexOf('=') + 1);
                hashTree(md, WorkflowParser.resolveInput(wf, s, v, "step '" + s.id() + "': ", work));
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void update(MessageDigest md, String tag, String value) {
        byte[] b = (tag + ":" + value).getBytes(StandardCharsets.UTF_8);
        md.update(java.nio.ByteBuffer.allocate(8).putLong(b.length).array()); // length-prefixed: no ambiguous concatenations
        md.update(b);
    }

    private static void hashTree(MessageDigest md, Path root) throws IOException {
        if (!Files.exists(root)) {
            update(md, "missing", root.toString());
            return;
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(Files::isRegularFile).sorted(Comparator.comparing(Path::toString)).toList();
        }
        byte[] buf = new byte[1 << 16];
        for (Path f : files) {
            update(md, "file", root.relativize(f).toString());
            try (InputStream in = Files.newInputStream(f)) {
                for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }

    /** stderr goes to the step's log and is also kept to quote its last line on failure. */
    private static final class Tee extends OutputStream {
        private final OutputStream a, b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        public void write(int x) throws IOException {
            a.write(x);
            b.write(x);
        }

        public void write(byte[] x, int off, int len) throws IOException {
            a.write(x, off, len);
            b.write(x, off, len);
        }

        public void flush() throws IOException {
            a.flush();
        }

        public void close() throws IOException {
            flush(); // the log file is closed by its own try-with-resources
        }
    }

    /** Jackson closes the stream it writes to; AtomicFiles must close it itself before the move. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream o) {
            super(o);
        }

        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        public void close() throws IOException {
            flush();
        }
    }
}
