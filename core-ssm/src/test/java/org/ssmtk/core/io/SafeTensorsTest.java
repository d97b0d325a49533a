package org.ssmtk.core.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void everyDtypeRoundTrips() throws IOException {
        float[] f = {1.5f, -2.25f, 0f, 65504f, 1e-3f, -7f};
        Path file = dir.resolve("all.safetensors");
        new SafeTensorsWriter().metadata("format", "pt")
                .putF32("f32", f, 2, 3)
                .putF64("f64", new double[]{Math.PI, -1e300}, 2)
                .put("f16", DType.F16, f, 3, 2)
                .put("bf16", DType.BF16, f, 6)
                .putI64("i64", new long[]{Long.MAX_VALUE, -1, 5}, 3)
                .putI32("i32", new int[]{7, -8}, 1, 2)
                .putF32("scalar", new float[]{3f})
                .write(file);
        try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
            assertEquals("pt", r.metadata().get("format"));
            assertArrayEquals(f, r.floats("f32"));
            assertArrayEquals(new long[]{2, 3}, r.info("f32").shape());
            assertArrayEquals(new double[]{Math.PI, -1e300}, r.doubles("f64"));
            assertArrayEquals(f, r.floats("f16"), 0.01f); // all of f but 1e-3 are exact in fp16
            float[] bf = r.floats("bf16");
            for (int i = 0; i < f.length; i++) assertEquals(f[i], bf[i], Math.abs(f[i]) / 128 + 1e-6);
            assertArrayEquals(new long[]{Long.MAX_VALUE, -1, 5}, r.longs("i64"));
            assertArrayEquals(new long[]{7, -8}, r.longs("i32"));
            assertEquals(0, r.info("scalar").shape().length);
            assertArrayEquals(new float[]{3f}, r.floats("scalar"));
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3f80, SafeTensorsWriter.toBf16(1f));
        assertEquals((short) 0x3f80, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3f808000))); // tie, to even
        assertEquals((short) 0x3f82, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3f818000))); // tie, to even (up)
        assertEquals((short) 0x3f81, SafeTensorsWriter.toBf16(Float.intBitsToFloat(0x3f808001)));
    }

    /** Writes an 8-byte length, the header text and n data bytes, as a hand-made (bad) file. */
    private Path raw(String name, long headerLength, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(h);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private Path raw(String name, String header, int dataBytes) throws IOException {
        return raw(name, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private String failure(Path p) {
        SafeTensorsFormatException e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensorsReader.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString()), "message names the file: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "unknown dtype|{\"w\":{\"dtype\":\"F8\",\"shape\":[2],\"data_offsets\":[0,2]}}|2|tensor 'w': unknown dtype",
            "offsets past the end|{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}|4|tensor 'w': data_offsets [0, 8] run past",
            "length does not match shape|{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}|8|tensor 'w': holds 8 bytes but F32 [3] needs 12",
            "overlap|{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}|12|overlap tensor 'a'",
            "hole|{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}|12|tensor 'b': data starts at byte 8",
            "trailing bytes|{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}|9|trailing bytes",
            "negative dimension|{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}|4|invalid dimension",
            "decreasing offsets|{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}|4|not an increasing range",
            "not JSON|{\"w\": nope}|0|not valid JSON",
            "missing keys|{\"w\":{\"dtype\":\"F32\"}}|0|needs dtype, shape and data_offsets",
            "duplicate names|{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}|4|not valid JSON",
            "overflowing shape|{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}|4|overflows",
    })
    void malformedHeadersAreRejectedWithTheirTensorNamed(String what, String header, int dataBytes, String expected) throws IOException {
        String msg = failure(raw(what.replace(' ', '_') + ".safetensors", header, dataBytes));
        assertTrue(msg.contains(expected), what + ": '" + msg + "' should contain '" + expected + "'");
    }

    @Test
    void truncatedAndForeignFilesAreRejected() throws IOException {
        Path empty = dir.resolve("empty.safetensors");
        Files.write(empty, new byte[3]);
        assertTrue(failure(empty).contains("too short"));
        assertTrue(failure(raw("huge.safetensors", 1L << 40, "{}", 0)).contains("outside"));
        assertTrue(failure(raw("short.safetensors", 100, "{}", 0)).contains("runs past the end"));
        Path good = dir.resolve("good.safetensors");
        new SafeTensorsWriter().putF32("w", new float[1000], 1000).write(good);
        byte[] all = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 10));
        assertTrue(failure(cut).contains("tensor 'w'"), "the truncated tensor is named");
    }

    @Test
    void aFailedWriteLeavesNoFileBehind() throws IOException {
        Path target = dir.resolve("out.safetensors");
        Files.writeString(target, "old");
        assertThrows(IOException.class, () -> AtomicFiles.write(target, out -> {
            out.write(new byte[100]);
            throw new IOException("disk full");
        }));
        assertEquals("old", Files.readString(target), "the old file is untouched");
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary file is left");
        }
    }
}
