package org.ssmtk.core.nn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.ModelFormatException;
import org.ssmtk.core.io.SafeTensorsFormatException;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.io.SafeTensorsWriter;
import org.ssmtk.core.io.TensorInfo;
import org.ssmtk.core.tensor.HostTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model directory in HuggingFace layout: {@code config.json} plus {@code model.safetensors} (or
 * shards listed in {@code model.safetensors.index.json}). Loading checks the tensors against the
 * names and shapes the config implies; every missing, unexpected or mis-shaped tensor is named.
 */
public record MambaCheckpoint(MambaConfig config, Map<String, HostTensor> parameters) {

    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    public static MambaCheckpoint load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new ModelFormatException(dir + ": not a model directory");
        Path configFile = dir.resolve(CONFIG);
        if (!Files.isRegularFile(configFile)) throw new ModelFormatException(dir + ": no " + CONFIG);
        MambaConfig config = MambaConfig.read(configFile);
        List<Path> files = weightFiles(dir);
        long bytes = 0;
        for (Path f : files) bytes += Files.size(f);
        // at least a byte a parameter in any float format: a config that describes more cannot be these files' model
        if (config.parameterLowerBound() > bytes)
            throw new ModelFormatException(configFile + ": describes at least " + String.format(java.util.Locale.ROOT, "%,d",
                    config.parameterLowerBound()) + " parameters, but the weight files hold " + String.format(java.util.Locale.ROOT, "%,d", bytes)
                    + " bytes: check num_hidden_layers, hidden_size and vocab_size");
        Set<String> buffers;
        try {
            buffers = ModelFamily.of(config.modelType()).buffers(config);
        } catch (IllegalArgumentException e) { // a model_type this build does not know
            throw new ModelFormatException(configFile + ": " + e.getMessage());
        }
        Map<String, HostTensor> found = new LinkedHashMap<>();
        Map<String, Path> origin = new LinkedHashMap<>();
        for (Path f : files) {
            try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
                for (TensorInfo t : r.tensors().values()) {
                    if (origin.containsKey(t.name()))
                        throw new ModelFormatException(f + ": tensor '" + t.name() + "' also appears in " + origin.get(t.name()));
                    if (!t.dtype().isFloatingPoint() && buffers.contains(t.name())) continue;
                    if (!t.dtype().isFloatingPoint())
                        throw new SafeTensorsFormatException(f, t.name(), "is " + t.dtype() + ", expected a floating-point parameter");
                    float[] values = r.floats(t.name());
                    // NaN or infinite weights give all-NaN logits, which every command would pass on as numbers
                    for (int i = 0; i < values.length; i++)
                        if (!Float.isFinite(values[i]))
                            throw new SafeTensorsFormatException(f, t.name(), "holds " + values[i] + " at element " + i + " of " + values.length
                                    + " (a diverged or corrupt checkpoint; weights must be finite)");
                    found.put(t.name(), new HostTensor(values, t.intShape()));
                    origin.put(t.name(), f);
                }
            }
        }
        return new MambaCheckpoint(config, validate(dir, config, found));
    }

    private static List<Path> weightFiles(Path dir) throws IOException {
        Path single = dir.resolve(WEIGHTS);
        if (Files.isRegularFile(single)) return List.of(single);
        Path index = dir.resolve(INDEX);
        if (!Files.isRegularFile(index))
            throw new ModelFormatException(dir + ": no " + WEIGHTS + " (nor " + INDEX + ")");
        JsonNode map;
        try {
            map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new ModelFormatException(index + ": not valid JSON");
        }
        if (!map.isObject()) throw new ModelFormatException(index + ": no weight_map object");
        Set<Path> files = new LinkedHashSet<>();
        for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
            String name = it.next().asText();
            Path p = dir.resolve(name).normalize();
            if (!p.startsWith(dir.normalize()) || !Files.isRegularFile(p))
                throw new ModelFormatException(index + ": shard '" + name + "' is missing");
            files.add(p);
        }
        return new ArrayList<>(files);
    }

    private static Map<String, HostTensor> validate(Path dir, MambaConfig config, Map<String, HostTensor> found)
            throws ModelFormatException {
        Map<String, HostTensor> ordered = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        List<ParameterSpec.Entry> expected;
        try {
            expected = ParameterSpec.of(config);
        } catch (IllegalArgumentException e) { // a model_type this build does not know
            throw new ModelFormatException(dir.resolve(CONFIG) + ": " + e.getMessage());
        }
        for (ParameterSpec.Entry e : expected) {
            HostTensor t = found.remove(e.name());
            if (t == null) problems.add("missing " + e);
            else if (!Arrays.equals(t.shape(), e.shape()))
                problems.add(e.name() + " has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(e.shape()));
            else ordered.put(e.name(), t);
        }
        // Some writers store tied tensors twice (the head tied to the embeddings; Caduceus' reverse
        // Mamba's projections tied to the forward one's): harmless when equal to the parameter.
        ModelFamily family = ModelFamily.of(config.modelType());
        for (var tie : family.tiedCopies(config).entrySet()) {
            HostTensor copy = found.remove(tie.getKey());
            if (copy == null) continue;
            HostTensor p = ordered.get(tie.getValue());
            if (p == null || !Arrays.equals(copy.data(), p.data()))
                problems.add("unexpected " + tie.getKey() + " that differs from " + tie.getValue() + ", which it is tied to");
        }
        found.keySet().removeAll(family.buffers(config));
        for (String name : found.keySet()) problems.add("unexpected tensor " + name);
        if (!problems.isEmpty())
            throw new ModelFormatException(dir + ": checkpoint does not match config.json: " + String.join("; ", problems));
        return ordered;
    }

    /** Writes config.json and model.safetensors, each atomically. */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        for (ParameterSpec.Entry e : ParameterSpec.of(config)) {
            HostTensor t = parameters.get(e.name());
            if (t == null) throw new IllegalStateException("no value for parameter " + e.name());
            w.putF32(e.name(), t.data(), e.shape());
        }
        w.write(dir.resolve(WEIGHTS));
        config.write(dir.resolve(CONFIG));
    }
}
