package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.io.SafeTensorsReader;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.StringJoiner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.cli.MainTest.concat;
import static org.ssmtk.cli.MainTest.run;

/** Mamba-2 checkpoints through the commands that take a model: the same commands, model_type decides. */
class Mamba2CommandsTest {
    static final Path FIXTURE = Path.of("..", "test-data", "fixtures", "tiny-mamba2").toAbsolutePath().normalize();
    @TempDir
    Path dir;

    @Test
    void infoNamesTheArchitectureAndForwardWritesTheReferenceLossAndGradients() throws Exception {
        MainTest.Result info = run("model", "info", "--model", FIXTURE.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("architecture     Mamba-2 (SSD; model_type mamba2)"), info.out());
        assertTrue(info.out().contains("heads            4 of head_dim 16, n_groups 1"), info.out());
        Path out = dir.resolve("out.safetensors"), ref = FIXTURE.resolve("reference.safetensors");
        MainTest.Result r = run("model", "forward", "--model", FIXTURE.toString(), "--input", ref.toString(),
                "--output", out.toString(), "--grads", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsReader ours = SafeTensorsReader.open(out); SafeTensorsReader want = SafeTensorsReader.open(ref)) {
            assertEquals(want.doubles("loss")[0], ours.floats("loss")[0], 1e-5 * want.doubles("loss")[0]);
            for (String name : want.tensors().keySet()) {
                if (!name.startsWith("grad.")) continue;
                float[] a = ours.floats(name);
                double[] b = want.doubles(name);
                double num = 0, den = 0;
                for (int i = 0; i < a.length; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
                assertTrue(Math.sqrt(num / den) < 1e-4, name + " relative error " + Math.sqrt(num / den));
            }
        }
    }

    @Test
    void greedyGenerationPicksTheReferenceTokens() throws Exception {
        long[] ids, fed, promptLen;
        try (SafeTensorsReader ref = SafeTensorsReader.open(FIXTURE.resolve("reference.safetensors"))) {
            ids = ref.longs("input_ids");
            fed = ref.longs("decode.fed_tokens");
            promptLen = ref.longs("decode.prompt_len");
        }
        StringJoiner prompt = new StringJoiner(",");
        for (int i = 0; i < promptLen[0]; i++) prompt.add(Long.toString(ids[i]));
        MainTest.Result r = run("model", "generate", "--model", FIXTURE.toString(), "--prompt-ids", prompt.toString(),
                "--max-new", Integer.toString(fed.length), "--threads", "1");
        assertEquals(0, r.code(), r.err());
        StringJoiner want = new StringJoiner(",");
        for (long t : fed) want.add(Long.toString(t));
        assertEquals(want.toString(), r.out().strip());
    }

    @Test
    void initFromTheMamba2PresetsWritesTransformersLayout() throws Exception {
        Path out = dir.resolve("m");
        MainTest.Result r = run("model", "init", "--preset", "130m-mamba2", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        var config = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("mamba2", config.get("model_type").asText());
        assertEquals("Infinity", config.get("time_step_limit").get(1).get("__float__").asText());
        MainTest.Result info = run("model", "info", "--model", out.toString());
        assertTrue(info.out().contains("heads            24 of head_dim 64, n_groups 1"), info.out());
    }

    @Test
    void lmTrainAndTheSyntheticTasksTrainAMamba2() throws Exception {
        byte[] b = new byte[20_000];
        for (int i = 0; i < b.length; i++) b[i] = (byte) (i % 7);
        Path data = dir.resolve("tokens.bin"), config = dir.resolve("config.json"), out = dir.resolve("run");
        Files.write(data, b);
        Files.writeString(config, "{\"model_type\": \"mamba2\", \"vocab_size\": 12, \"hidden_size\": 32, \"state_size\": 8,"
                + " \"num_hidden_layers\": 2, \"num_heads\": 4, \"head_dim\": 16, \"n_groups\": 2, \"chunk_size\": 16,"
                + " \"tie_word_embeddings\": true}");
        String[] common = {"lm", "train", "--config", config.toString(), "--data", data.toString(), "--data-format", "u8",
                "--out", out.toString(), "--seq-len", "40", "--batch", "4", "--lr", "1e-2", "--log-every", "5", "--threads", "2"};
        MainTest.Result first = run(concat(common, "--steps", "30"));
        assertEquals(0, first.code(), first.err());
        var lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        double firstLoss = new ObjectMapper().readTree(lines.get(0)).get("loss").asDouble();
        double lastLoss = new ObjectMapper().readTree(lines.get(lines.size() - 1)).get("loss").asDouble();
        assertTrue(lastLoss < 0.5 * firstLoss, "a period-7 sequence is learned: " + firstLoss + " -> " + lastLoss);
        assertEquals("mamba2", new ObjectMapper().readTree(out.resolve("model/config.json").toFile()).get("model_type").asText());

        Path sc = dir.resolve("sc");
        MainTest.Result s = run("synthetic", "induction-heads", "--train", "32", "--eval", "32,64", "--steps", "3", "--batch", "2",
                "--eval-samples", "4", "--d-model", "16", "--variants", "selective,mamba2", "--head-dim", "8", "--out", sc.toString(),
                "--threads", "2");
        assertEquals(0, s.code(), s.err());
        assertTrue(s.out().contains("Mamba-2 (SSD)"), s.out());
        assertTrue(Files.readString(sc.resolve("results.json")).contains("\"variant\" : \"mamba2\""));
        assertEquals("mamba2", new ObjectMapper().readTree(sc.resolve("mamba2/model/config.json").toFile()).get("model_type").asText());
        MainTest.Result bad = run("synthetic", "induction-heads", "--steps", "1", "--variants", "mamba2", "--head-dim", "24");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--head-dim 24 does not divide"), bad.err());
        assertTrue(Arrays.asList(bad.err().split("\n")).size() == 1, bad.err());
    }
}
