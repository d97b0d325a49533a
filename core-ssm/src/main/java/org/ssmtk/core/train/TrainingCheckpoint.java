package org.ssmtk.core.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.ModelFormatException;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.io.SafeTensorsWriter;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.HostTensor;
import org.ssmtk.core.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A resumable training checkpoint: {@code OUT/checkpoints/step-NNNNNNNN/} holds the model in
 * HuggingFace layout (config.json, model.safetensors, loadable by ssmtk and transformers),
 * {@code optimizer.safetensors} (AdamW moments m.NAME and v.NAME) and {@code trainer_state.json}
 * (step, tokens seen, the options that must not change on resume). A checkpoint directory is
 * written under a temporary name and renamed into place, then {@code OUT/checkpoints/latest} is
 * replaced atomically: a crash at any point leaves the previous checkpoint intact.
 */
public final class TrainingCheckpoint {
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "trainer_state.json";
    public static final String LATEST = "latest";

    public record State(long step, long tokens, ObjectNode options) {}

    private TrainingCheckpoint() {}

    public static Path checkpointsDir(Path out) {
        return out.resolve("checkpoints");
    }

    public static Path save(Path out, MambaModel model, AdamW optimizer, State state, int keep) throws IOException {
        Path dir = checkpointsDir(out);
        Files.createDirectories(dir);
        String name = String.format("step-%08d", state.step());
        Path target = dir.resolve(name);
        AtomicFiles.writeDirectory(target, tmp -> {
            Backend b = model.backend();
            Map<String, HostTensor> host = new LinkedHashMap<>();
            model.parameters().forEach((k, t) -> host.put(k, new HostTensor(b.toHost(t), t.shape())));
            new MambaCheckpoint(model.config(), host).save(tmp);
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("step", Long.toString(optimizer.step()));
            for (var e : optimizer.firstMoments().entrySet()) w.putF32("m." + e.getKey(), b.toHost(e.getValue()), e.getValue().shape());
            for (var e : optimizer.secondMoments().entrySet()) w.putF32("v." + e.getKey(), b.toHost(e.getValue()), e.getValue().shape());
            w.write(tmp.resolve(OPTIMIZER));
            ObjectNode json = new ObjectMapper().createObjectNode();
            json.put("step", state.step());
            json.put("tokens", state.tokens());
            json.set("options", state.options());
            byte[] bytes = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(json);
            Files.write(tmp.resolve(STATE), bytes);
        });
        AtomicFiles.write(dir.resolve(LATEST), o -> o.write((name + "\n").getBytes()));
        prune(dir, keep, name);
        return target;
    }

    /** The checkpoint that {@code latest} names, or null when the directory has none. */
    public static Path latest(Path out) throws IOException {
        Path pointer = checkpointsDir(out).resolve(LATEST);
        if (!Files.isRegularFile(pointer)) return null;
        Path dir = checkpointsDir(out).resolve(Files.readString(pointer).strip());
        if (!Files.isDirectory(dir)) throw new ModelFormatException(pointer + " names " + dir + ", which does not exist");
        return dir;
    }

    public static State readState(Path checkpoint) throws IOException {
        Path f = checkpoint.resolve(STATE);
        try {
            var n = new ObjectMapper().readTree(f.toFile());
            if (!n.has("step") || !n.has("options")) throw new ModelFormatException(f + ": missing step or options");
            return new State(n.get("step").asLong(), n.path("tokens").asLong(), (ObjectNode) n.get("options"));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ModelFormatException(f + ": not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** Restores the AdamW moments and step count saved with a checkpoint. */
    public static void restoreOptimizer(Path checkpoint, AdamW optimizer, Backend backend) throws IOException {
        Path f = checkpoint.resolve(OPTIMIZER);
        try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
            restore(r, "m.", optimizer.firstMoments(), backend);
            restore(r, "v.", optimizer.secondMoments(), backend);
            String step = r.metadata().get("step");
            if (step == null) throw new ModelFormatException(f + ": no step in the metadata");
            optimizer.restoreStep(Long.parseLong(step));
        }
    }

    private static void restore(SafeTensorsReader r, String prefix, Map<String, Tensor> into, Backend backend) throws IOException {
        for (var e : into.entrySet()) {
            String name = prefix + e.getKey();
            if (!r.contains(name)) throw new ModelFormatException(r.file() + ": missing optimizer state " + name);
            float[] v = r.floats(name);
            if (v.length != e.getValue().size())
                throw new ModelFormatException(r.file() + ": optimizer state " + name + " has " + v.length + " values, expected " + e.getValue().size());
            backend.copy(e.getValue(), backend.fromHost(v, e.getValue().shape()));
        }
    }

    /** The names of the checkpoints under out (step-NNNNNNNN folders), oldest first; empty when there are none. */
    public static List<String> list(Path out) throws IOException {
        Path dir = checkpointsDir(out);
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("step-") && Files.isDirectory(p))
                    .map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void prune(Path dir, int keep, String newest) throws IOException {
        if (keep < 1) return;
        List<Path> all;
        try (Stream<Path> s = Files.list(dir)) {
            all = s.filter(p -> p.getFileName().toString().startsWith("step-") && Files.isDirectory(p))
                    .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
        }
        for (int i = 0; i < all.size() - keep; i++)
            if (!all.get(i).getFileName().toString().equals(newest)) deleteTree(all.get(i));
    }

    static void deleteTree(Path p) throws IOException {
        AtomicFiles.deleteTree(p);
    }
}
