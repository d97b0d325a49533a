package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.*;
import org.ssmtk.core.tensor.HostTensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void theReferenceCheckpointLoadsWithItsTiedHead() throws IOException {
        MambaCheckpoint c = MambaCheckpoint.load(Fixtures.dir("tiny-mamba"));
        assertEquals(12, c.config().vocabSize());
        assertEquals(64, c.config().intermediateSize());
        assertTrue(c.config().tieWordEmbeddings());
        assertEquals(ParameterSpec.of(c.config()).size(), c.parameters().size());
    }

    @Test
    void untiedModelsWithBiasesRoundTrip() throws IOException {
        MambaCheckpoint c = RandomModels.create(RandomModels.smallUntied(), 1);
        c.save(dir.resolve("m"));
        MambaCheckpoint back = MambaCheckpoint.load(dir.resolve("m"));
        assertEquals(c.config(), back.config());
        for (var e : c.parameters().entrySet())
            assertArrayEquals(e.getValue().data(), back.parameters().get(e.getKey()).data(), e.getKey());
    }

    private Path withTensors(MambaConfig config, Map<String, HostTensor> tensors) throws IOException {
        Path d = Files.createDirectories(dir.resolve("bad"));
        config.write(d.resolve("config.json"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        tensors.forEach((k, v) -> w.putF32(k, v.data(), v.shape()));
        w.write(d.resolve("model.safetensors"));
        return d;
    }

    private String failure(Path d) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> MambaCheckpoint.load(d));
        assertTrue(e.getMessage().startsWith(d.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void missingUnexpectedAndMisshapedTensorsAreAllNamed() throws IOException {
        MambaConfig config = RandomModels.smallUntied();
        Map<String, HostTensor> t = new LinkedHashMap<>(RandomModels.create(config, 2).parameters());
        t.remove("backbone.layers.1.mixer.D");
        t.put("backbone.layers.0.mixer.A_log", new HostTensor(new float[5], new int[]{5}));
        t.put("backbone.layers.9.mixer.extra", new HostTensor(new float[1], new int[]{1}));
        String msg = failure(withTensors(config, t));
        assertTrue(msg.contains("missing backbone.layers.1.mixer.D [48]"), msg);
        assertTrue(msg.contains("backbone.layers.0.mixer.A_log has shape [5], expected [48, 5]"), msg);
        assertTrue(msg.contains("unexpected tensor backbone.layers.9.mixer.extra"), msg);
    }

    @Test
    void biasesThatTheConfigDoesNotDeclareAreUnexpected() throws IOException {
        MambaConfig withBias = RandomModels.smallUntied();
        Map<String, HostTensor> t = RandomModels.create(withBias, 3).parameters();
        String msg = failure(withTensors(withBias.withBiasesAndHead(false, true, false), t));
        assertTrue(msg.contains("unexpected tensor backbone.layers.0.mixer.in_proj.bias"), msg);
    }

    @Test
    void configProblemsNameTheFile() throws IOException {
        Path d = Files.createDirectories(dir.resolve("cfg"));
        Files.writeString(d.resolve("config.json"), "{\"hidden_size\": \"big\"}");
        assertTrue(failure(d).contains("hidden_size must be an integer"));
        Files.writeString(d.resolve("config.json"), "{not json");
        assertTrue(failure(d).contains("not valid JSON"));
        Files.delete(d.resolve("config.json"));
        assertTrue(failure(d).contains("no config.json"));
    }

    /** Issue 15: NaN/Inf weights loaded silently; every logit came out NaN and generate printed zeros, exit 0. */
    @Test
    void nonFiniteWeightsAreRefusedAtLoadNamingTheTensor() throws IOException {
        MambaConfig config = RandomModels.smallUntied();
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            Map<String, HostTensor> t = new LinkedHashMap<>(RandomModels.create(config, 4).parameters());
            float[] w = t.get("backbone.layers.1.mixer.out_proj.weight").data().clone();
            w[7] = bad;
            t.put("backbone.layers.1.mixer.out_proj.weight", new HostTensor(w, t.get("backbone.layers.1.mixer.out_proj.weight").shape()));
            Path d = withTensors(config, t);
            SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> MambaCheckpoint.load(d));
            assertTrue(e.getMessage().startsWith(d.resolve("model.safetensors").toString()), e.getMessage());
            assertTrue(e.getMessage().contains("backbone.layers.1.mixer.out_proj.weight") && e.getMessage().contains("holds " + bad + " at element 7"),
                    e.getMessage());
            try (var files = Files.list(d)) {
                files.forEach(f -> f.toFile().delete());
            }
            Files.delete(d);
        }
    }
}
