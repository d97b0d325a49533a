package org.ssmtk.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.tensor.Q8Blocks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Reads a written GGUF back by the format's layout (ggml's gguf.c reads it the same way): header,
 * typed metadata, tensor infos with ggml's reversed dimensions, 32-byte aligned data. llama.cpp
 * itself loads the files in scripts/bench-cpu.sh, where its logits match ours to ~1e-7.
 */
class GgufWriterTest {
    @TempDir
    Path dir;

    @Test
    void headerMetadataTensorInfosAndDataReadBack() throws Exception {
        float[] m = new float[3 * 64];
        for (int i = 0; i < m.length; i++) m[i] = (float) Math.sin(i * 0.37) * (i % 7 == 0 ? 4 : 1);
        float[] v = {1.5f, -2.25f, 3.0f};
        Path f = dir.resolve("t.gguf");
        new GgufWriter().putString("general.architecture", "mamba").putU32("mamba.block_count", 2)
                .putF32("eps", 1e-5f).putBool("flag", true)
                .tensor("a.weight", m, GgufWriter.Type.Q8_0, 3, 64)
                .tensor("b", v, GgufWriter.Type.F32, 3)
                .tensor("c.weight", m, GgufWriter.Type.F16, 3, 64)
                .write(f);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(f)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x46554747, b.getInt());
        assertEquals(3, b.getInt());
        assertEquals(3, b.getLong());
        assertEquals(4, b.getLong());
        Map<String, Object> kv = new LinkedHashMap<>();
        for (int i = 0; i < 4; i++) {
            String key = string(b);
            int type = b.getInt();
            kv.put(key, switch (type) {
                case 4 -> Integer.toUnsignedLong(b.getInt());
                case 6 -> b.getFloat();
                case 7 -> b.get() != 0;
                case 8 -> string(b);
                default -> throw new AssertionError("type " + type);
            });
        }
        assertEquals(Map.of("general.architecture", "mamba", "mamba.block_count", 2L, "eps", 1e-5f, "flag", true), kv);
        String[] names = new String[3];
        long[][] dims = new long[3][];
        int[] types = new int[3];
        long[] offsets = new long[3];
        for (int t = 0; t < 3; t++) {
            names[t] = string(b);
            dims[t] = new long[b.getInt()];
            for (int d = 0; d < dims[t].length; d++) dims[t][d] = b.getLong();
            types[t] = b.getInt();
            offsets[t] = b.getLong();
            assertEquals(0, offsets[t] % 32, "offset of " + names[t]);
        }
        assertArrayEquals(new String[]{"a.weight", "b", "c.weight"}, names);
        assertArrayEquals(new long[]{64, 3}, dims[0]); // ggml order: innermost first
        assertArrayEquals(new int[]{8, 0, 1}, types);
        int data = (b.position() + 31) / 32 * 32;
        // Q8_0: per block a half-precision scale, then 32 int8
        byte[] q = new byte[64];
        short[] s = new short[2];
        Q8Blocks.quantize(m, 64, 64, q, 0, s, 0); // row 1
        int row1 = data + (int) offsets[0] + 2 * 34;
        assertEquals(s[0], b.getShort(row1));
        for (int j = 0; j < 32; j++) assertEquals(q[j], b.get(row1 + 2 + j));
        for (int i = 0; i < 3; i++) assertEquals(v[i], b.getFloat(data + (int) offsets[1] + 4 * i));
        for (int i = 0; i < m.length; i++)
            assertEquals(Float.float16ToFloat(Float.floatToFloat16(m[i])), Float.float16ToFloat(b.getShort(data + (int) offsets[2] + 2 * i)));
        assertEquals((data + offsets[2] + 2L * m.length + 31) / 32 * 32, Files.size(f), "the file ends with the last tensor, padded");
    }

    @Test
    void q8RowsMustBeWholeBlocks() {
        assertThrows(IllegalArgumentException.class, () -> new GgufWriter().tensor("x", new float[48], GgufWriter.Type.Q8_0, 1, 48));
    }

    private static String string(ByteBuffer b) {
        byte[] s = new byte[Math.toIntExact(b.getLong())];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }
}
