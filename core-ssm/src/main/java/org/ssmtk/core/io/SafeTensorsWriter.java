package org.ssmtk.core.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

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
 * Builds a safetensors file in memory order of insertion and writes it atomically. Floating data
 * can be stored as F32, F64, F16 or BF16 (rounded to nearest even); integer data as I64 or I32.
 */
public final class SafeTensorsWriter {
    private record Entry(String name, DType dtype, long[] shape, ByteBuffer bytes) {}

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    private static long[] longShape(int[] shape) {
        long[] s = new long[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = shape[i];
        return s;
    }

    private ByteBuffer allocate(String name, DType dtype, long[] shape, int have) {
        if (entries.containsKey(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        long n = count(shape);
        if (n != have)
            throw new IllegalArgumentException("tensor '" + name + "': " + have + " values for shape " + java.util.Arrays.toString(shape));
        return ByteBuffer.allocate(Math.toIntExact(n * dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
    }

    private SafeTensorsWriter add(String name, DType dtype, long[] shape, ByteBuffer b) {
        entries.put(name, new Entry(name, dtype, shape, b.flip()));
        return this;
    }

    public SafeTensorsWriter put(String name, DType dtype, float[] data, int... shape) {
        long[] s = longShape(shape);
        ByteBuffer b = allocate(name, dtype, s, data.length);
        switch (dtype) {
            case F32 -> b.asFloatBuffer().put(data);
            case F64 -> { for (float v : data) b.putDouble(v); }
            case F16 -> { for (float v : data) b.putShort(Float.floatToFloat16(v)); }
            case BF16 -> { for (float v : data) b.putShort(toBf16(v)); }
            default -> throw new IllegalArgumentException("tensor '" + name + "': float data cannot be stored as " + dtype);
        }
        if (dtype == DType.F32) b.position(b.capacity());
        return add(name, dtype, s, b);
    }

    public SafeTensorsWriter putF32(String name, float[] data, int... shape) {
        return put(name, DType.F32, data, shape);
    }

    public SafeTensorsWriter putF64(String name, double[] data, int... shape) {
        long[] s = longShape(shape);
        ByteBuffer b = allocate(name, DType.F64, s, data.length);
        b.asDoubleBuffer().put(data);
        b.position(b.capacity());
        return add(name, DType.F64, s, b);
    }

    public SafeTensorsWriter putI64(String name, long[] data, int... shape) {
        long[] s = longShape(shape);
        ByteBuffer b = allocate(name, DType.I64, s, data.length);
        b.asLongBuffer().put(data);
        b.position(b.capacity());
        return add(name, DType.I64, s, b);
    }

    public SafeTensorsWriter putI32(String name, int[] data, int... shape) {
        long[] s = longShape(shape);
        ByteBuffer b = allocate(name, DType.I32, s, data.length);
        b.asIntBuffer().put(data);
        b.position(b.capacity());
        return add(name, DType.I32, s, b);
    }

    /** float32 to bfloat16 with round-to-nearest-even; NaN stays a (quiet) NaN. */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    byte[] header() {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode m = root.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Entry e : entries.values()) {
            ObjectNode t = root.putObject(e.name());
            t.put("dtype", e.dtype().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape()) shape.add(d);
            ArrayNode off = t.putArray("data_offsets");
            off.add(offset);
            offset += e.bytes().remaining();
            off.add(offset);
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        // The format pads the header with spaces so that the data section starts 8-byte aligned.
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        return out;
    }

    public void writeTo(OutputStream out) throws IOException {
        byte[] header = header();
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
        out.write(len.array());
        out.write(header);
        for (Entry e : entries.values()) {
            ByteBuffer b = e.bytes().duplicate();
            out.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
        }
    }

    /** Writes the file through a temporary file and a rename, so no partial file is ever visible. */
    public void write(Path file) throws IOException {
        AtomicFiles.write(file, this::writeTo);
    }

    public List<String> names() {
        return new ArrayList<>(entries.keySet());
    }
}
