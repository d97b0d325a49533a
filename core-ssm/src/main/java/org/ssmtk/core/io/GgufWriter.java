package org.ssmtk.core.io;

import org.ssmtk.core.tensor.Q8Blocks;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF (version 3) file as llama.cpp reads it: header, typed key-value metadata, tensor infos,
 * then tensor data, each tensor aligned to 32 bytes. Tensors are given in PyTorch's row-major shape
 * (slowest dimension first) and written with ggml's reversed dimension order. Float data is stored
 * as F32, F16 or Q8_0 ({@link Q8Blocks}). Little-endian throughout, written atomically.
 */
public final class GgufWriter {
    /** ggml tensor types this writer emits (values from ggml.h). */
    public enum Type {
        F32(0), F16(1), Q8_0(8);
        final int id;

        Type(int id) {
            this.id = id;
        }
    }

    private static final int MAGIC = 0x46554747, VERSION = 3, ALIGNMENT = 32;
    private static final int T_UINT32 = 4, T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8;

    private record Value(int type, Object value) {}

    private record TensorEntry(String name, int[] shape, Type type, float[] data) {}

    private final Map<String, Value> metadata = new LinkedHashMap<>();
    private final List<TensorEntry> tensors = new ArrayList<>();

    public GgufWriter putString(String key, String value) {
        metadata.put(key, new Value(T_STRING, value));
        return this;
    }

    public GgufWriter putU32(String key, long value) {
        if (value < 0 || value > 0xFFFFFFFFL) throw new IllegalArgumentException(key + " = " + value + " is not a uint32");
        metadata.put(key, new Value(T_UINT32, value));
        return this;
    }

    public GgufWriter putF32(String key, float value) {
        metadata.put(key, new Value(T_FLOAT32, value));
        return this;
    }

    public GgufWriter putBool(String key, boolean value) {
        metadata.put(key, new Value(T_BOOL, value));
        return this;
    }

    /** A tensor of PyTorch shape {@code shape} (row-major) stored as {@code type}. */
    public GgufWriter tensor(String name, float[] data, Type type, int... shape) {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != data.length) throw new IllegalArgumentException(name + ": " + data.length + " values for shape " + java.util.Arrays.toString(shape));
        if (type == Type.Q8_0 && !Q8Blocks.fits(shape[shape.length - 1]))
            throw new IllegalArgumentException(name + ": rows of " + shape[shape.length - 1] + " are not whole Q8_0 blocks");
        tensors.add(new TensorEntry(name, shape.clone(), type, data));
        return this;
    }

    public void write(Path file) throws IOException {
        AtomicFiles.write(file, this::writeTo);
    }

    private void writeTo(OutputStream out) throws IOException {
        Sink s = new Sink(out);
        s.i32(MAGIC);
        s.i32(VERSION);
        s.i64(tensors.size());
        s.i64(metadata.size());
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            s.string(e.getKey());
            s.i32(e.getValue().type());
            switch (e.getValue().type()) {
                case T_UINT32 -> s.i32((int) (long) (Long) e.getValue().value());
                case T_FLOAT32 -> s.f32((Float) e.getValue().value());
                case T_BOOL -> s.u8((Boolean) e.getValue().value() ? 1 : 0);
                case T_STRING -> s.string((String) e.getValue().value());
                default -> throw new IllegalStateException();
            }
        }
        long offset = 0;
        List<byte[]> encoded = new ArrayList<>();
        for (TensorEntry t : tensors) {
            byte[] bytes = encode(t);
            encoded.add(bytes);
            s.string(t.name());
            s.i32(t.shape().length);
            for (int d = t.shape().length - 1; d >= 0; d--) s.i64(t.shape()[d]); // ggml: innermost first
            s.i32(t.type().id);
            s.i64(offset);
            offset = align(offset + bytes.length);
        }
        s.pad();
        for (byte[] bytes : encoded) {
            s.bytes(bytes);
            s.pad();
        }
        s.flush();
    }

    private static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static byte[] encode(TensorEntry t) {
        float[] x = t.data();
        return switch (t.type()) {
            case F32 -> {
                ByteBuffer b = ByteBuffer.allocate(x.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : x) b.putFloat(v);
                yield b.array();
            }
            case F16 -> {
                ByteBuffer b = ByteBuffer.allocate(x.length * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : x) b.putShort(Float.floatToFloat16(v));
                yield b.array();
            }
            case Q8_0 -> {
                int k = t.shape()[t.shape().length - 1], rows = x.length / k, blocks = k / Q8Blocks.BLOCK;
                byte[] q = new byte[k];
                short[] scales = new short[blocks];
                ByteBuffer b = ByteBuffer.allocate(rows * blocks * (2 + Q8Blocks.BLOCK)).order(ByteOrder.LITTLE_ENDIAN);
                for (int r = 0; r < rows; r++) {
                    Q8Blocks.quantize(x, r * k, k, q, 0, scales, 0);
                    for (int bl = 0; bl < blocks; bl++) {
                        b.putShort(scales[bl]);
                        b.put(q, bl * Q8Blocks.BLOCK, Q8Blocks.BLOCK);
                    }
                }
                yield b.array();
            }
        };
    }

    /** Little-endian primitives with a running position, for the alignment padding. */
    private static final class Sink {
        private final OutputStream out;
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        private long position;

        Sink(OutputStream out) {
            this.out = new java.io.BufferedOutputStream(out, 1 << 16);
        }

        void u8(int v) throws IOException {
            out.write(v);
            position++;
        }

        void i32(int v) throws IOException {
            scratch.clear();
            scratch.putInt(v);
            bytes(java.util.Arrays.copyOf(scratch.array(), 4));
        }

        void i64(long v) throws IOException {
            scratch.clear();
            scratch.putLong(v);
            bytes(scratch.array().clone());
        }

        void f32(float v) throws IOException {
            i32(Float.floatToRawIntBits(v));
        }

        void string(String v) throws IOException {
            byte[] b = v.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            bytes(b);
        }

        void bytes(byte[] b) throws IOException {
            out.write(b);
            position += b.length;
        }

        void pad() throws IOException {
            while (position % ALIGNMENT != 0) u8(0);
        }

        void flush() throws IOException {
            out.flush();
        }
    }
}
