package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.MambaModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk dna embed} in-process with a briefly pretrained tiny model. */
class DnaEmbedCommandTest {
    @TempDir
    Path dir;

    @Test
    void embedsRecordsAndWindowsToSafetensorsAndTsv() throws Exception {
        Path run = dir.resolve("pt");
        MainTest.Result r = MainTest.run("dna", "pretrain", "--fasta", DnaScoreCommandTest.SMALL.toString(), "--out", run.toString(), "--preset", "tiny",
                "--seq-len", "32", "--batch", "2", "--steps", "2", "--eval-windows", "2", "--threads", "2", "--checkpoint-every", "0");
        assertEquals(0, r.code(), r.err());
        Path model = run.resolve("model");
        Path fa = Files.writeString(dir.resolve("q.fa"), ">a\nACGTACGGTA\n>long\n" + "ACGTTGCA".repeat(10) + "\n");
        Path st = dir.resolve("e.safetensors");
        r = MainTest.run("dna", "embed", "--model", model.toString(), "--fasta", fa.toString(), "--output", st.toString(), "--seq-len", "32",
                "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<String> ids = List.of("a", "long:1-32", "long:33-64", "long:65-80");
        float[] emb;
        int h;
        try (SafeTensorsReader in = SafeTensorsReader.open(st)) {
            assertEquals(ids, List.of(new ObjectMapper().readValue(in.metadata().get("ids"), String[].class)));
            emb = in.floats("embeddings");
            h = emb.length / ids.size();
            assertEquals(ids.size() * h, emb.length);
        }
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, MambaCheckpoint.load(model));
            assertEquals(m.config().hiddenSize(), h);
            int[] a = {4, 5, 6, 7, 4, 5, 6, 6, 7, 4}; // ACGTACGGTA
            float[] hidden = cpu.toHost(m.backbone(a, 1, a.length, null, null));
            for (int j = 0; j < h; j++) {
                double s = 0;
                for (int t = 0; t < a.length; t++) s += hidden[t * h + j];
                assertEquals(s / a.length, emb[j], 1e-5);
            }
        }
        Path tsv = dir.resolve("e.tsv");
        r = MainTest.run("dna", "embed", "--model", model.toString(), "--fasta", fa.toString(), "--output", tsv.toString(), "--seq-len", "32",
                "--pooling", "last", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(tsv);
        assertEquals(ids.size() + 1, lines.size());
        assertEquals(h + 1, lines.get(0).split("\t").length);
        assertEquals("long:65-80", lines.get(4).split("\t")[0]);

        Path bare = Files.createDirectories(dir.resolve("bare"));
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(model.resolve(f), bare.resolve(f));
        Path none = dir.resolve("none.tsv");
        r = MainTest.run("dna", "embed", "--model", bare.toString(), "--fasta", fa.toString(), "--output", none.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("dna_vocab.json"), r.err());
        assertFalse(Files.exists(none));
    }
}
