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
 * Runs a workflow's steps in dependency order, independent ones in parallel. Step ID works in WORK/ID (outputs
 * resolve there) and logs its stdout and stderr to WORK/ID.log. WORK/run.json, rewritten atomically
 * whenever a step starts or ends, records each step's start, end, status, exit code, outputs and cache key; the key
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

    /** Runs every step one at a time; see {@link #run(boolean, int)}. */
    public List<Outcome> run(boolean resume) throws WorkflowException, IOException {
        return run(resume, 1);
    }

    /**
     * Runs every step, each as soon as the steps it needs are done, with at most {@code cpus} CPU
     * slots busy: a step takes as many slots as its {@code threads} param asks (1 without one, at most
     * {@code cpus}), so two 1-thread steps share 2 CPUs but a 2-thread trainer runs alone. At the first
     * failure no new step starts; the running ones finish and are logged, then the failure is thrown,
     * naming the step and its last error line. Outcomes come in the descriptor's topological order.
     */
    public List<Outcome> run(boolean resume, int cpus) throws WorkflowException, IOException {
        if (cpus < 1) throw new IllegalArgumentException("cpus must be at least 1, got " + cpus);
        Files.createDirectories(work);
        Map<String, JsonNode> previous = resume ? previous() : Map.of();
        started = Instant.now();
        records.clear();
        write();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(cpus, r -> {
            Thread t = new Thread(r, "workflow-step");
            t.setDaemon(true);
            return t;
        });
        java.util.concurrent.CompletionService<Outcome> done = new java.util.concurrent.ExecutorCompletionService<>(pool);
        Map<java.util.concurrent.Future<Outcome>, Step> running = new java.util.HashMap<>();
        Map<String, Outcome> outcomes = new java.util.HashMap<>();
        java.util.Set<String> launched = new java.util.HashSet<>();
        int free = cpus, total = wf.steps().size();
        WorkflowException failure = null;
        IOException ioFailure = null;
        try {
            while (true) {
                if (failure == null && ioFailure == null)
                    for (Step s : wf.steps()) {
                        if (launched.contains(s.id())) continue;
                        boolean ready = s.needs().stream().allMatch(n -> outcomes.containsKey(n) && outcomes.get(n).status() != Status.FAILED);
                        int cost = slots(s, cpus);
                        if (!ready || cost > free) continue;
                        launched.add(s.id());
                        free -= cost;
                        running.put(done.submit(() -> runStep(s, previous)), s);
                    }
                if (running.isEmpty()) break;
                if (running.size() > 1 || outcomes.size() + running.size() < total)
                    progress.println("workflow: [" + outcomes.size() + "/" + total + " done] running: "
                            + String.join(", ", running.values().stream().map(Step::id).sorted().toList()));
                java.util.concurrent.Future<Outcome> f;
                try {
                    // a long step still says it is alive: a heartbeat line when nothing finished for a while
                    while ((f = done.poll(heartbeatSeconds, java.util.concurrent.TimeUnit.SECONDS)) == null)
                        progress.println("workflow: [" + outcomes.size() + "/" + total + " done] still running: "
                                + String.join(", ", running.values().stream().map(st -> st.id() + " (" + since(st) + ")").sorted().toList()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new WorkflowException("interrupted while steps were running: " + running.values().stream().map(Step::id).toList());
                }
                Step s = running.remove(f);
                free += slots(s, cpus);
                try {
                    outcomes.put(s.id(), f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    outcomes.put(s.id(), new Outcome(s.id(), Status.FAILED));
                    if (e.getCause() instanceof WorkflowException w) { if (failure == null) failure = w; }
                    else if (e.getCause() instanceof IOException io) { if (ioFailure == null) ioFailure = io; }
                    else throw new IllegalStateException("step '" + s.id() + "': " + e.getCause(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new WorkflowException("interrupted");
                }
                Outcome o = outcomes.get(s.id());
                progress.println("workflow: [" + outcomes.size() + "/" + total + "] " + s.id() + " (" + s.op() + "): "
                        + switch (o.status()) {
                            case CACHED -> "cached, skipped";
                            case OK -> "done in " + seconds(s);
                            case FAILED -> "FAILED";
                        });
            }
        } finally {
            pool.shutdownNow();
        }
        if (failure != null) throw failure;
        if (ioFailure != null) throw ioFailure;
        List<Outcome> out = new ArrayList<>();
        for (Step s : wf.steps()) out.add(outcomes.get(s.id()));
        return out;
    }

    private final Map<String, ObjectNode> records = new java.util.concurrent.ConcurrentHashMap<>();
    private long heartbeatSeconds = 30;

    /** How long the progress display waits, with nothing finishing, before it repeats what is running (default 30 s). */
    public WorkflowRunner heartbeat(long seconds) {
        if (seconds < 1) throw new IllegalArgumentException("heartbeat must be at least 1 s");
        heartbeatSeconds = seconds;
        return this;
    }

    private String since(Step s) {
        ObjectNode r = records.get(s.id());
        if (r == null || !r.has("start")) return "starting";
        long secs = java.time.Duration.between(Instant.parse(r.get("start").asText()), Instant.now()).toSeconds();
        return secs >= 60 ? secs / 60 + "m" + String.format("%02d", secs % 60) + "s" : secs + "s";
    }
    private Instant started;

    /** CPU slots a step takes: its threads param when it has one, else 1, at most all of them. */
    public static int slots(Step s, int cpus) {
        if (s.params().get("threads") instanceof List<?> l && !l.isEmpty()) {
            try {
                return Math.max(1, Math.min(cpus, Integer.parseInt(l.getFirst().toString().strip())));
            } catch (NumberFormatException e) {
                return 1; // the command itself will refuse the value, with its own message
            }
        }
        return 1;
    }

    private String seconds(Step s) {
        ObjectNode r = records.get(s.id());
        if (r == null || !r.has("start") || !r.has("end")) return "?";
        return String.format(java.util.Locale.ROOT, "%.1f s", java.time.Duration.between(Instant.parse(r.get("start").asText()), Instant.parse(r.get("end").asText())).toMillis() / 1000.0);
    }

    /** One step, on a pool thread: cached, or run in WORK/ID with its output to WORK/ID.log. */
    private Outcome runStep(Step s, Map<String, JsonNode> previous) throws WorkflowException, IOException {
        String key = cacheKey(s);
        List<Path> outputs = outputs(s);
        JsonNode before = previous.get(s.id());
        if (before != null && "ok".equals(before.path("status").asText()) && key.equals(before.path("hash").asText())
                && outputs.stream().allMatch(Files::exists)) {
            records.put(s.id(), ((ObjectNode) before.deepCopy()).put("status", "ok").put("cached", true));
            write();
            return new Outcome(s.id(), Status.CACHED);
        }
        Path dir = work.resolve(s.id());
        deleteTree(dir); // a stale half-written output must not pass for this run's
        Files.createDirectories(dir);
        String[] args = args(s);
        ObjectNode r = JSON.createObjectNode();
        r.put("step", s.id()).put("op", s.op()).put("command", "ssmtk " + String.join(" ", args)).put("hash", key).put("start", Instant.now().toString());
        ArrayNode outs = r.putArray("outputs");
        outputs.forEach(o -> outs.add(o.toString()));
        r.put("status", "running");
        records.put(s.id(), r);
        write();
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
        synchronized (this) { // write() copies records under the same lock
            r.put("end", Instant.now().toString()).put("exit_code", code).put("status", code == 0 ? "ok" : "failed");
        }
        write();
        if (code != 0) {
            List<String> lines = errBytes.toString(StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
            String why = lines.isEmpty() ? "no message" : lines.getLast();
            throw new WorkflowException("step '" + s.id() + "' (" + s.op() + ") failed with exit code " + code + ": " + why
                    + " (log: " + work.resolve(s.id() + ".log") + ")");
        }
        return new Outcome(s.id(), Status.OK);
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

    /** Rewrites run.json from the records so far, steps in topological order; one writer at a time. */
    private synchronized void write() throws IOException {
        ObjectNode log = JSON.createObjectNode();
        log.put("workflow", wf.name());
        log.put("descriptor", wf.file().toAbsolutePath().normalize().toString());
        log.put("start", started.toString());
        ArrayNode steps = log.putArray("steps");
        for (Step s : wf.steps()) {
            ObjectNode r = records.get(s.id());
            if (r != null) steps.add(r.deepCopy());
        }
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
