package org.ssmtk.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.io.SafeTensorsReader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --weights int8 through the commands, its refusals, and model export --gguf. */
class Int8AndGgufCommandsTest {
    @TempDir
    Path dir;

    private static final Path MODEL = Path.of("..", "test-data", "fixtures", "tiny-mamba").toAbsolutePath().normalize();

    @Test
    void int8ForwardIsCloseToTheReferenceAndItsRefusalsAreOneLine() throws Exception {
        Path out = dir.resolve("int8.safetensors");
        MainTest.Result r = MainTest.run("model", "forward", "--model", MODEL.toString(), "--input",
                MODEL.resolve("reference.safetensors").toString(), "--output", out.toString(), "--weights", "int8", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        try (SafeTensorsReader ours = SafeTensorsReader.open(out); SafeTensorsReader ref = SafeTensorsReader.open(MODEL.resolve("reference.safetensors"))) {
            float[] a = ours.floats("logits");
            double[] b = ref.doubles("logits");
            double num = 0, den = 0;
            for (int i = 0; i < a.length; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
            double rel = Math.sqrt(num / den);
            assertTrue(rel < 1e-2 && rel > 1e-5, "int8 logits' relative error " + rel);
        }
        MainTest.Result grads = MainTest.run("model", "forward", "--model", MODEL.toString(), "--input",
                MODEL.resolve("reference.safetensors").toString(), "--output", dir.resolve("g.safetensors").toString(), "--grads", "--weights", "int8");
        assertEquals(1, grads.code());
        assertEquals(1, grads.err().strip().lines().count(), grads.err());
        assertTrue(grads.err().contains("--weights fp32"), grads.err());
        assertFalse(Files.exists(dir.resolve("g.safetensors")));
    }

    @Test
    void ggufExportWritesAGgufFileAndRefusesWhatLlamaCppCannotHold() throws Exception {
        Path gguf = dir.resolve("m.gguf");
        MainTest.Result r = MainTest.run("model", "export", "--model", MODEL.toString(), "--gguf", gguf.toString(), "--type", "q8_0");
        assertEquals(0, r.code(), r.err());
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(gguf)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x46554747, b.getInt());
        assertEquals(3, b.getInt());
        long tensors = b.getLong();
        assertEquals(2 + 2 * 10, tensors); // token_embd, output_norm; per layer norm, in, conv w+b, x, dt w+b, a, d, out
        Path mamba2 = Path.of("..", "test-data", "fixtures", "tiny-mamba2").toAbsolutePath().normalize();
        MainTest.Result refused = MainTest.run("model", "export", "--model", mamba2.toString(), "--gguf", dir.resolve("x.gguf").toString());
        assertEquals(1, refused.code(), refused.err());
        assertTrue(refused.err().contains("mamba2"), refused.err());
        assertFalse(Files.exists(dir.resolve("x.gguf")));
    }
}
