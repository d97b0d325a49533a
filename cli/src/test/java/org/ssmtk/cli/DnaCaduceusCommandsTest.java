package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code dna pretrain --arch caduceus-*} (masked LM) and {@code dna embed} on the result, in-process. */
class DnaCaduceusCommandsTest {
    @TempDir
    Path dir;

    @Test
    void pretrainsACaduceusPsAndEmbedsWithIt() throws Exception {
        Path run = dir.resolve("ps");
        MainTest.Result r = MainTest.run("dna", "pretrain", "--fasta", DnaScoreCommandTest.SMALL.toString(), "--out", run.toString(),
                "--preset", "tiny", "--arch", "caduceus-ps", "--seq-len", "32", "--batch", "2", "--steps", "3", "--eval-windows", "2",
                "--threads", "2", "--checkpoint-every", "0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("masked LM"), r.err());
        Path model = run.resolve("model");
        MambaCheckpoint ck = MambaCheckpoint.load(model);
        assertEquals(MambaConfig.CADUCEUS, ck.config().modelType());
        assertTrue(ck.config().caduceus().rcps());
        assertEquals(16, ck.config().paddedVocabSize());
        var tok = new ObjectMapper().readTree(model.resolve("tokenizer_config.json").toFile());
        assertEquals("[\"A\",\"C\",\"G\",\"T\",\"N\"]", tok.path("characters").toString());
        var eval = new ObjectMapper().readTree(run.resolve("eval.json").toFile());
        double bits = eval.path("masked_bits_per_base").asDouble();
        assertTrue(bits > 0.5 && bits < 6, "masked bits per base " + bits);

        Path fa = Files.writeString(dir.resolve("q.fa"), ">a\nACGTACGGTA\n");
        Path st = dir.resolve("e.safetensors");
        r = MainTest.run("dna", "embed", "--model", model.toString(), "--fasta", fa.toString(), "--output", st.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        float[] emb;
        try (SafeTensorsReader in = SafeTensorsReader.open(st)) {
            emb = in.floats("embeddings");
        }
        int h = ck.config().hiddenSize();
        assertEquals(h, emb.length);
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, ck);
            int[] a = {7, 8, 9, 10, 7, 8, 9, 9, 10, 7}; // ACGTACGGTA in Caduceus' ids
            float[] hidden = cpu.toHost(m.backbone(a, 1, a.length, null, null));
            assertEquals(2 * a.length * h, hidden.length);
            for (int j = 0; j < h; j++) {
                double s = 0;
                for (int t = 0; t < 2 * a.length; t++) s += hidden[t * h + j];
                assertEquals(s / (2 * a.length), emb[j], 1e-5);
            }
            // the PS convention makes the embedding of a sequence that of its reverse complement
            Path rcFa = Files.writeString(dir.resolve("rc.fa"), ">a\nTACCGTACGT\n");
            Path rcSt = dir.resolve("rc.safetensors");
            r = MainTest.run("dna", "embed", "--model", model.toString(), "--fasta", rcFa.toString(), "--output", rcSt.toString(), "--threads", "2");
            assertEquals(0, r.code(), r.err());
            try (SafeTensorsReader in = SafeTensorsReader.open(rcSt)) {
                float[] rcEmb = in.floats("embeddings");
                for (int j = 0; j < h; j++) assertEquals(emb[j], rcEmb[j], 1e-5);
            }
            // --pooling last: each strand's own last base, so a sequence and its reverse complement still embed alike
            float[][] last = new float[2][];
            Path[] inputs = {fa, rcFa};
            for (int i = 0; i < 2; i++) {
                Path o = dir.resolve("last" + i + ".safetensors");
                r = MainTest.run("dna", "embed", "--model", model.toString(), "--fasta", inputs[i].toString(), "--output", o.toString(),
                        "--pooling", "last", "--threads", "2");
                assertEquals(0, r.code(), r.err());
                try (SafeTensorsReader in = SafeTensorsReader.open(o)) {
                    last[i] = in.floats("embeddings");
                }
            }
            for (int j = 0; j < h; j++) {
                assertEquals((hidden[(a.length - 1) * h + j] + hidden[a.length * h + j]) / 2, last[0][j], 1e-5, "forward row L-1 and RC row 0");
                assertEquals(last[0][j], last[1][j], 1e-5);
            }
        }
    }

    @Test
    void pretrainsACaduceusPhAndRefusesArchWithAModel() throws Exception {
        Path run = dir.resolve("ph");
        MainTest.Result r = MainTest.run("dna", "pretrain", "--fasta", DnaScoreCommandTest.SMALL.toString(), "--out", run.toString(),
                "--preset", "tiny", "--arch", "caduceus-ph", "--seq-len", "32", "--batch", "2", "--steps", "2", "--eval-windows", "1",
                "--threads", "2", "--checkpoint-every", "0");
        assertEquals(0, r.code(), r.err());
        MambaCheckpoint ck = MambaCheckpoint.load(run.resolve("model"));
        assertTrue(ck.config().caduceus().bidirectional() && !ck.config().caduceus().rcps());
        r = MainTest.run("dna", "pretrain", "--fasta", DnaScoreCommandTest.SMALL.toString(), "--out", dir.resolve("again").toString(),
                "--model", run.resolve("model").toString(), "--arch", "caduceus-ps", "--steps", "1");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("--arch"), r.err());
        // commands that read ssmtk's ids refuse a Caduceus in one line
        r = MainTest.run("dna", "score", "--model", run.resolve("model").toString(), "--fasta", DnaScoreCommandTest.SMALL.toString(),
                "--output", dir.resolve("s.bedGraph").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("a Caduceus model; dna score does not take"), r.err());
    }
}
