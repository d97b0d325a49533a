package org.ssmtk.core.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.io.RunLock;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.ModelFormatException;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.HostTensor;
import org.ssmtk.core.tensor.Tensor;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The training loop every ssmtk trainer uses: per step, accumulate gradients over micro-batches,
 * stop on a non-finite loss or gradient norm, clip by global norm, step AdamW with the scheduled
 * learning rate, log a JSONL metrics line and checkpoint every N steps. Data is a function of the
 * step, checkpoints hold the optimizer state, so {@code resume} continues exactly where an
 * uninterrupted run would be: same batches, same updates, same loss curve.
 */
public final class Trainer {

    public record Options(long steps, int accumulation, double clipNorm, LearningRateSchedule schedule,
                          AdamW.Settings adam, int checkpointEvery, int keepCheckpoints, int logEvery,
                          Path out, boolean resume, ObjectNode run) {
        public Options {
            if (steps < 1) throw new IllegalArgumentException("steps must be at least 1");
            if (accumulation < 1) throw new IllegalArgumentException("gradient accumulation must be at least 1");
            if (clipNorm < 0) throw new IllegalArgumentException("clip norm must be >= 0 (0 = off)");
            if (logEvery < 1) throw new IllegalArgumentException("log interval must be at least 1");
        }
    }

    /** What a progress display or a test sees of each step. */
    public interface Listener {
        default void onStart(long firstStep, long lastStep) {}

        default void onStep(StepMetrics m) {}

        default void onCheckpoint(Path dir) {}

        default void onMessage(String line) {}
    }

    public record StepMetrics(long step, double loss, double lr, double gradNorm, double tokensPerSecond, long tokens,
                              double elapsedSeconds) {
        String json() {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("step", step);
            o.put("loss", loss);
            o.put("lr", lr);
            o.put("grad_norm", gradNorm);
            o.put("tokens_per_s", tokensPerSecond);
            o.put("tokens", tokens);
            o.put("elapsed_s", elapsedSeconds);
            return o.toString();
        }
    }

    public record Result(long firstStep, long lastStep, List<StepMetrics> history) {
        public double finalLoss() {
            return history.isEmpty() ? Double.NaN : history.get(history.size() - 1).loss();
        }
    }

    public static final String METRICS = "metrics.jsonl";
    public static final String MODEL = "model";

    /**
     * How long replicas in threads may go without finishing a step before the trainer prints, once,
     * where each replica's thread (and each Cleaner's, which frees device memory) stands: a run that
     * hangs says where. {@code SSMTK_STALL_REPORT_S} in the environment, default 600 s; a value that
     * is not a positive number is said so and the default kept (a diagnostic must not stop a run).
     */
    static final double DEFAULT_STALL_REPORT_S = 600;
    /** Tests set it; 0: from the environment. */
    static volatile long stallReportNanos;

    /** SSMTK_STALL_REPORT_S's value in seconds: the default where unset, NaN where not a positive number. */
    static double stallReportSeconds(String env) {
        if (env == null || env.isBlank()) return DEFAULT_STALL_REPORT_S;
        try {
            double s = Double.parseDouble(env.trim());
            return s > 0 && Double.isFinite(s) ? s : Double.NaN;
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static long stallReportNanos(Listener listener) {
        if (stallReportNanos > 0) return stallReportNanos;
        String env = System.getenv("SSMTK_STALL_REPORT_S");
        double s = stallReportSeconds(env);
        if (Double.isNaN(s)) {
            listener.onMessage("SSMTK_STALL_REPORT_S='" + env + "' is not a positive number of seconds; using " + (int) DEFAULT_STALL_REPORT_S);
            s = DEFAULT_STALL_REPORT_S;
        }
        return (long) (s * 1e9);
    }

    private Trainer() {}

    public static Result train(MambaModel model, BatchSource data, Objective objective, Options o, Listener listener)
            throws IOException {
        return train(Replicas.of(model), data, objective, o, listener);
    }

    /**
     * Data-parallel training: each step's {@code accumulation} micro-batches are shared out, replica
     * r taking micro-batches r k .. r k + k - 1 (k = accumulation / replicas) of the same
     * {@link BatchSource}, so that the run sees the batches, and follows the loss curve, of one device
     * accumulating them all (to summation order), and may resume on another number of devices.
     * Gradients are summed across replicas layer by layer during the last micro-batch's backward; each
     * replica then clips with replica 0's norm and takes the same AdamW step. Replica 0 logs and writes
     * checkpoints; on resume every replica loads the checkpoint. Each replica runs in its own thread.
     */
    public static Result train(Replicas replicas, BatchSource data, Objective objective, Options o, Listener listener)
            throws IOException {
        if (o.accumulation() % replicas.size() != 0)
            throw new IllegalArgumentException("gradient accumulation " + o.accumulation() + " must be a multiple of the "
                    + replicas.size() + " devices, which share each step's micro-batches");
        if (o.out() == null) return trainLocked(replicas, data, objective, o, listener);
        try (RunLock lock = RunLock.acquire(o.out())) {
            return trainLocked(replicas, data, objective, o, listener);
        }
    }

    private static Result trainLocked(Replicas replicas, BatchSource data, Objective objective, Options o, Listener listener)
            throws IOException {
        int n = replicas.size();
        AdamW[] optimizers = new AdamW[n];
        for (int r = 0; r < n; r++) {
            MambaModel m = replicas.models().get(r);
            optimizers[r] = new AdamW(m.backend(), m.parameters(), o.adam());
        }
        long step = 0, tokens = 0;
        if (o.out() != null) Files.createDirectories(o.out());
        if (o.resume() && o.out() != null) {
            Path ckpt = TrainingCheckpoint.latest(o.out());
            if (ckpt == null) {
                // checkpoints without the pointer that names the good one: guessing could resume a half-written
                // or diverged one, restarting would silently write over them
                List<String> orphans = TrainingCheckpoint.list(o.out());
                if (!orphans.isEmpty())
                    throw new ModelFormatException("cannot resume: " + TrainingCheckpoint.checkpointsDir(o.out()) + " holds " + String.join(", ", orphans)
                            + " but no '" + TrainingCheckpoint.LATEST + "' file naming the one to resume from; write that name into "
                            + TrainingCheckpoint.checkpointsDir(o.out()).resolve(TrainingCheckpoint.LATEST) + ", or start afresh in another --out");
                listener.onMessage("no checkpoint under " + o.out() + ": starting from step 0");
            } else {
                TrainingCheckpoint.State state = TrainingCheckpoint.readState(ckpt);
                checkCompatible(ckpt, state.options(), o.run());
                for (int r = 0; r < n; r++) {
                    MambaModel m = replicas.models().get(r);
                    loadParameters(m, ckpt);
                    TrainingCheckpoint.restoreOptimizer(ckpt, optimizers[r], m.backend());
                }
                step = state.step();
                tokens = state.tokens();
                truncateMetrics(o.out().resolve(METRICS), step);
                listener.onMessage("resuming from " + ckpt + " at step " + step);
            }
        } else if (o.out() != null) {
            Files.deleteIfExists(o.out().resolve(METRICS));
        }
        long first = step + 1;
        listener.onStart(first, o.steps());
        Run run = new Run(replicas, optimizers, data, objective, o, listener, step, tokens);
        try (BufferedWriter metrics = o.out() == null ? null : Files.newBufferedWriter(o.out().resolve(METRICS),
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            run.metrics = metrics;
            run.go();
        }
        if (o.out() != null) saveModel(replicas.lead(), o.out().resolve(MODEL));
        return new Result(first, o.steps(), run.history);
    }

    /** One training run's shared state: what the replicas' threads exchange each step, and replica 0's log. */
    private static final class Run {
        final Replicas replicas;
        final AdamW[] optimizers;
        final BatchSource data;
        final Objective objective;
        final Options o;
        final Listener listener;
        final long startStep, startTokens;
        final List<StepMetrics> history = new ArrayList<>();
        BufferedWriter metrics;
        // each replica's part of a step, by step parity: a replica can be at most one step ahead of another
        final double[][] lossParts, norms;
        final long[][] tokenParts;
        /** The step's rendezvous; terminated for good when a replica fails, so that no other waits on it. */
        final java.util.concurrent.Phaser stepDone;
        /** When a replica last finished a step (or the run started), and that step: for the stall report. */
        volatile long lastProgressNanos = System.nanoTime(), lastStep;

        Run(Replicas replicas, AdamW[] optimizers, BatchSource data, Objective objective, Options o, Listener listener,
            long startStep, long startTokens) {
            this.replicas = replicas;
            this.optimizers = optimizers;
            this.data = data;
            this.objective = objective;
            this.o = o;
            this.listener = listener;
            this.startStep = startStep;
            this.startTokens = startTokens;
            int n = replicas.size();
            lossParts = new double[2][n];
            norms = new double[2][n];
            tokenParts = new long[2][n];
            stepDone = new java.util.concurrent.Phaser(n);
            lastStep = startStep;
        }

        /** Runs every replica to the last step; the first failure of any replica is thrown, the others stopped. */
        void go() throws IOException {
            int n = replicas.size();
            if (n == 1) {
                replica(0);
                return;
            }
            List<Thread> threads = new ArrayList<>();
            // the first replica to fail has the cause; the others then fail because it did
            java.util.concurrent.atomic.AtomicReference<Throwable> first = new java.util.concurrent.atomic.AtomicReference<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                threads.add(Thread.ofPlatform().name("ssmtk-replica-" + r).start(() -> {
                    try {
                        replica(rank);
                    } catch (Throwable t) {
                        // wake the others: blocked at the step barrier, or on a sum this replica will never join
                        if (first.compareAndSet(null, t)) {
                            stepDone.forceTermination();
                            for (var c : replicas.collectives()) c.abort();
                        }
                    }
                }));
            }
            boolean reported = false;
            long stallNanos = stallReportNanos(listener);
            java.time.Duration poll = java.time.Duration.ofNanos(Math.clamp(stallNanos / 4, 10_000_000L, 5_000_000_000L));
            for (Thread t : threads) {
                try {
                    while (!t.join(poll)) {
                        long quiet = System.nanoTime() - lastProgressNanos;
                        if (!reported && quiet > stallNanos) {
                            reportStall(quiet);
                            reported = true;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while training", e);
                }
            }
            Throwable cause = first.get();
            if (cause == null) return;
            if (cause instanceof IOException e) throw e;
            if (cause instanceof RuntimeException e) throw e;
            if (cause instanceof Error e) throw e;
            throw new IllegalStateException(cause);
        }

        private void replica(int rank) throws IOException {
            MambaModel model = replicas.models().get(rank);
            var collective = replicas.collectives().get(rank);
            AdamW optimizer = optimizers[rank];
            int n = replicas.size(), perReplica = o.accumulation() / n;
            Gradients grads = model.newGradients();
            GradientBuckets buckets = new GradientBuckets(grads);
            boolean lead = rank == 0;
            long step = startStep, tokens = startTokens;
            long t0 = System.nanoTime();
            while (step < o.steps()) {
                step++;
                grads.zero();
                double loss = 0;
                long stepTokensHere = 0;
                for (int micro = 0; micro < perReplica; micro++) {
                    Batch b = data.batch(step, rank * perReplica + micro);
                    // sums of the layers' gradients start as the last micro-batch's backward finishes each layer
                    if (micro == perReplica - 1) model.onLayerGradientsDone(i -> collective.allReduceSum(buckets.layer(i)));
                    try {
                        LanguageModelLoss.Result r = objective.lossAndGradients(model, b, grads, 1f / o.accumulation());
                        loss += r.loss() / o.accumulation();
                    } finally {
                        model.onLayerGradientsDone(null);
                    }
                    stepTokensHere += (long) b.batch() * b.len();
                }
                collective.allReduceSum(buckets.rest());
                collective.join();
                int parity = (int) (step & 1);
                lossParts[parity][rank] = loss;
                tokenParts[parity][rank] = stepTokensHere;
                norms[parity][rank] = grads.globalNorm();
                awaitStep();
                lastStep = step;
                lastProgressNanos = System.nanoTime();
                // every replica adds the parts in rank order: the same loss everywhere; the norm is replica 0's
                loss = 0;
                stepTokensHere = 0;
                for (int r = 0; r < n; r++) {
                    loss += lossParts[parity][r];
                    stepTokensHere += tokenParts[parity][r];
                }
                double norm = norms[parity][0];
                tokens += stepTokensHere;
                if (!Double.isFinite(loss) || !Double.isFinite(norm))
                    throw new TrainingDivergedException("training diverged at step " + step + ": loss " + loss + ", gradient norm "
                            + norm + lastGood(o.out()));
                // clipping folds into the update (the same float product as scaling the gradients first)
                float clip = o.clipNorm() > 0 && norm > o.clipNorm() ? (float) (o.clipNorm() / norm) : 1f;
                double lr = o.schedule().at(step);
                optimizer.update(grads, lr, clip);
                if (!lead) continue;
                double elapsed = (System.nanoTime() - t0) / 1e9;
                StepMetrics m = new StepMetrics(step, loss, lr, norm, (tokens - startTokens) / Math.max(1e-9, elapsed), tokens, elapsed);
                history.add(m);
                listener.onStep(m);
                if (metrics != null && (step % o.logEvery() == 0 || step == o.steps())) {
                    metrics.write(m.json());
                    metrics.newLine();
                    metrics.flush();
                }
                if (o.out() != null && ((o.checkpointEvery() > 0 && step % o.checkpointEvery() == 0) || step == o.steps())) {
                    // a finite loss does not make finite weights (an update can overflow): never keep those as "good"
                    String bad = firstNonFinite(model);
                    if (bad != null)
                        throw new TrainingDivergedException("training diverged at step " + step + ": parameter " + bad
                                + " is no longer finite after the update" + lastGood(o.out()));
                    Path dir = TrainingCheckpoint.save(o.out(), model, optimizer, new TrainingCheckpoint.State(step, tokens, o.run()),
                            o.keepCheckpoints());
                    listener.onCheckpoint(dir);
                }
            }
        }

        /** The replicas' and Cleaners' stacks, through the listener, one line a frame; taken before the first line is out. */
        private void reportStall(long quietNanos) {
            List<String> lines = new ArrayList<>();
            Thread.getAllStackTraces().entrySet().stream()
                    .filter(e -> e.getKey().getName().startsWith("ssmtk-replica-") || e.getKey().getName().contains("Cleaner"))
                    .sorted(java.util.Comparator.comparing(e -> e.getKey().getName()))
                    .forEach(e -> {
                        lines.add("  " + e.getKey().getName() + " (" + e.getKey().getState() + ")");
                        for (StackTraceElement f : e.getValue()) lines.add("    at " + f);
                    });
            listener.onMessage(String.format(java.util.Locale.ROOT, "no step has finished in %.0f s (the last was step %d); where the threads stand:",
                    quietNanos / 1e9, lastStep));
            lines.forEach(listener::onMessage);
        }

        private void awaitStep() {
            if (stepDone.arriveAndAwaitAdvance() < 0) throw new StoppedByPeer();
        }
    }

    /** A replica stopped because another one failed; the other one's error is the one reported. */
    private static final class StoppedByPeer extends RuntimeException {
        StoppedByPeer() {
            super("stopped: another replica failed");
        }
    }

    /**
     * The gradient tensors grouped as the all-reduce sends them: one group per layer (names with
     * {@code layers.N.}), complete as soon as the backward has left that layer, and the rest
     * (embeddings, final norm, heads), complete only at the end of the backward.
     */
    static final class GradientBuckets {
        private static final java.util.regex.Pattern LAYER = java.util.regex.Pattern.compile("(?:^|\\.)layers\\.(\\d+)\\.");
        private final Map<Integer, List<Tensor>> layers = new java.util.HashMap<>();
        private final List<Tensor> rest = new ArrayList<>();

        GradientBuckets(Gradients grads) {
            grads.all().forEach((name, t) -> {
                java.util.regex.Matcher m = LAYER.matcher(name);
                if (m.find()) layers.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new ArrayList<>()).add(t);
                else rest.add(t);
            });
        }

        List<Tensor> layer(int i) {
            return layers.getOrDefault(i, List.of());
        }

        List<Tensor> rest() {
            return rest;
        }

        int tensors() {
            return rest.size() + layers.values().stream().mapToInt(List::size).sum();
        }
    }

    private static String lastGood(Path out) throws IOException {
        if (out == null) return "";
        Path last = TrainingCheckpoint.latest(out);
        return last == null ? "; no checkpoint was written before it (lower --lr, or checkpoint more often with --checkpoint-every)"
                : "; the last good checkpoint is " + last + " (resume from it with --resume and a lower --lr)";
    }

    /** The name of the first parameter holding NaN or an infinity, or null. */
    static String firstNonFinite(MambaModel model) {
        for (var e : model.parameters().entrySet())
            for (float v : model.backend().toHost(e.getValue())) if (!Float.isFinite(v)) return e.getKey();
        return null;
    }

    /** Writes the trained model in HuggingFace layout, replacing any previous one only when complete. */
    public static void saveModel(MambaModel model, Path dir) throws IOException {
        Map<String, HostTensor> host = new java.util.LinkedHashMap<>();
        model.parameters().forEach((k, t) -> host.put(k, new HostTensor(model.backend().toHost(t), t.shape())));
        AtomicFiles.writeDirectory(dir, tmp -> new MambaCheckpoint(model.config(), host).save(tmp));
    }

    private static void loadParameters(MambaModel model, Path ckpt) throws IOException {
        MambaCheckpoint saved = MambaCheckpoint.load(ckpt);
        if (!saved.config().equals(model.config()))
            throw new ModelFormatException(ckpt + ": the checkpoint's config.json differs from the model being trained");
        for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
            HostTensor h = saved.parameters().get(e.getKey());
            model.backend().copy(e.getValue(), model.backend().fromHost(h.data(), h.shape()));
        }
    }

    /** Every run option must match on resume except the number of steps, which may grow. */
    private static void checkCompatible(Path ckpt, ObjectNode saved, ObjectNode now) throws ModelFormatException {
        if (now == null || saved == null) return;
        List<String> diffs = new ArrayList<>();
        for (Iterator<String> it = now.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (k.equals("steps")) continue;
            if (!sameValue(now.get(k), saved.get(k))) diffs.add(k + " was " + saved.get(k) + ", now " + now.get(k));
        }
        if (!diffs.isEmpty())
            throw new ModelFormatException("cannot resume from " + ckpt + ": " + String.join("; ", diffs));
    }

    /** JSON equality where 0 read back from a file (an int) equals the 0L a run was given. */
    private static boolean sameValue(com.fasterxml.jackson.databind.JsonNode a, com.fasterxml.jackson.databind.JsonNode b) {
        if (a == null || b == null) return a == b;
        if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue()) == 0;
        return a.equals(b);
    }

    private static void truncateMetrics(Path file, long step) throws IOException {
        if (!Files.exists(file)) return;
        ObjectMapper mapper = new ObjectMapper();
        List<String> keep = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.isBlank()) continue;
            try {
                if (mapper.readTree(line).path("step").asLong() <= step) keep.add(line);
            } catch (IOException e) {
                break; // a line cut by a crash ends the usable log
            }
        }
        AtomicFiles.write(file, out -> {
            for (String l : keep) out.write((l + "\n").getBytes(StandardCharsets.UTF_8));
        });
    }
}
