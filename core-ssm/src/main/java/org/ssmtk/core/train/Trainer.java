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

    private Trainer() {}

    public static Result train(MambaModel model, BatchSource data, Objective objective, Options o, Listener listener)
            throws IOException {
        if (o.out() == null) return trainLocked(model, data, objective, o, listener);
        try (RunLock lock = RunLock.acquire(o.out())) {
            return trainLocked(model, data, objective, o, listener);
        }
    }

    private static Result trainLocked(MambaModel model, BatchSource data, Objective objective, Options o, Listener listener)
            throws IOException {
        AdamW optimizer = new AdamW(model.backend(), model.parameters(), o.adam());
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
                loadParameters(model, ckpt);
                TrainingCheckpoint.restoreOptimizer(ckpt, optimizer, model.backend());
                step = state.step();
                tokens = state.tokens();
                truncateMetrics(o.out().resolve(METRICS), step);
                listener.onMessage("resuming from " + ckpt + " at step " + step);
            }
        } else if (o.out() != null) {
            Files.deleteIfExists(o.out().resolve(METRICS));
        }
        Gradients grads = model.newGradients();
        List<StepMetrics> history = new ArrayList<>();
        long first = step + 1;
        listener.onStart(first, o.steps());
        long t0 = System.nanoTime();
        long tokensAtStart = tokens;
        try (BufferedWriter metrics = o.out() == null ? null : Files.newBufferedWriter(o.out().resolve(METRICS),
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            while (step < o.steps()) {
                step++;
                grads.zero();
                double loss = 0;
                for (int micro = 0; micro < o.accumulation(); micro++) {
                    Batch b = data.batch(step, micro);
                    LanguageModelLoss.Result r = objective.lossAndGradients(model, b, grads, 1f / o.accumulation());
                    loss += r.loss() / o.accumulation();
                    tokens += (long) b.batch() * b.len();
                }
                double norm = grads.globalNorm();
                if (!Double.isFinite(loss) || !Double.isFinite(norm))
                    throw new TrainingDivergedException("training diverged at step " + step + ": loss " + loss + ", gradient norm "
                            + norm + lastGood(o.out()));
                if (o.clipNorm() > 0 && norm > o.clipNorm()) grads.scale((float) (o.clipNorm() / norm));
                double lr = o.schedule().at(step);
                optimizer.update(grads, lr);
                double elapsed = (System.nanoTime() - t0) / 1e9;
                StepMetrics m = new StepMetrics(step, loss, lr, norm, (tokens - tokensAtStart) / Math.max(1e-9, elapsed), tokens, elapsed);
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
        if (o.out() != null) saveModel(model, o.out().resolve(MODEL));
        return new Result(first, o.steps(), history);
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
