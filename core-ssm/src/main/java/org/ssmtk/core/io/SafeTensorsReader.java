package org.ssmtk.core.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Memory-mapped reader of the safetensors format: an 8-byte little-endian header length, a JSON
 * header mapping tensor names to {dtype, shape, data_offsets}, then the raw little-endian data.
 *
 * <p>The header is validated completely on open, so that every later read is within bounds: a
 * header length within {@link #MAX_HEADER_BYTES} and the file, known dtypes, non-negative shapes,
 * byte ranges inside the data section whose length equals dtype size times element count, and
 * ranges that neither overlap nor leave holes (the format's own rule).
 */
public final class SafeTensorsReader implements AutoCloseable {
    /** The reference implementation's bound: larger headers are rejected before parsing. */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafeTensorsReader(Path file, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                              Map<String, String> metadata) {
        this.file = file;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafeTensorsReader open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new SafeTensorsFormatException(file, null, "file is " + size + " bytes, too short for the 8-byte header length");
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = all.get(I64_LE, 0);
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES)
                throw new SafeTensorsFormatException(file, null, "header length " + Long.toUnsignedString(headerLen)
                        + " is outside [2, " + MAX_HEADER_BYTES + "] (not a safetensors file?)");
            if (8 + headerLen > size)
                throw new SafeTensorsFormatException(file, null, "header length " + headerLen + " runs past the end of the "
                        + size + "-byte file (truncated?)");
            byte[] headerBytes = all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = all.asSlice(8 + headerLen);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(file, headerBytes, data.byteSize(), metadata);
            SafeTensorsReader r = new SafeTensorsReader(file, arena, data, tensors, metadata);
            arena = null;
            return r;
        } finally {
            if (arena != null) arena.close();
        }
    }

    private static Map<String, TensorInfo> parseHeader(Path file, byte[] headerBytes, long dataLen,
                                                       Map<String, String> metadata) throws IOException {
        ObjectMapper mapper = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        JsonNode root;
        try {
            root = mapper.readTree(new String(headerBytes, StandardCharsets.UTF_8).stripTrailing());
        } catch (IOException e) {
            throw new SafeTensorsFormatException(file, null, "header is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (!(root instanceof ObjectNode obj))
            throw new SafeTensorsFormatException(file, null, "header is not a JSON object");
        List<TensorInfo> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = obj.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw new SafeTensorsFormatException(file, null, "__metadata__ is not an object");
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> me = m.next();
                    if (!me.getValue().isTextual())
                        throw new SafeTensorsFormatException(file, null, "__metadata__ value of '" + me.getKey() + "' is not a string");
                    metadata.put(me.getKey(), me.getValue().asText());
                }
                continue;
            }
            list.add(parseEntry(file, name, v, dataLen));
        }
        list.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expected = 0;
        TensorInfo previous = null;
        for (TensorInfo t : list) {
            if (t.begin() < expected)
                throw new SafeTensorsFormatException(file, t.name(), "bytes [" + t.begin() + ", " + t.end()
                        + ") overlap tensor '" + previous.name() + "' [" + previous.begin() + ", " + previous.end() + ")");
            if (t.begin() > expected)
                throw new SafeTensorsFormatException(file, t.name(), "data starts at byte " + t.begin()
                        + " but the previous tensor ends at " + expected + " (hole in the data section)");
            expected = t.end();
            previous = t;
        }
        if (expected != dataLen)
            throw new SafeTensorsFormatException(file, null, "tensors cover " + expected + " bytes but the data section has "
                    + dataLen + (expected < dataLen ? " (trailing bytes)" : " (truncated file)"));
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : list) byName.put(t.name(), t);
        return Collections.unmodifiableMap(byName);
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode v, long dataLen) throws IOException {
        if (!v.isObject()) throw new SafeTensorsFormatException(file, name, "header entry is not an object");
        JsonNode dt = v.get("dtype"), sh = v.get("shape"), off = v.get("data_offsets");
        if (dt == null || sh == null || off == null)
            throw new SafeTensorsFormatException(file, name, "header entry needs dtype, shape and data_offsets");
        DType dtype = DType.parse(dt.asText());
        if (!dt.isTextual() || dtype == null)
            throw new SafeTensorsFormatException(file, name, "unknown dtype " + dt);
        if (!sh.isArray()) throw new SafeTensorsFormatException(file, name, "shape is not an array");
        long[] shape = new long[sh.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = sh.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0)
                throw new SafeTensorsFormatException(file, name, "shape " + sh + " has an invalid dimension");
            shape[i] = d.asLong();
            try {
                count = Math.multiplyExact(count, shape[i]);
            } catch (ArithmeticException e) {
                throw new SafeTensorsFormatException(file, name, "shape " + sh + " overflows");
            }
        }
        if (!off.isArray() || off.size() != 2 || !off.get(0).isIntegralNumber() || !off.get(1).isIntegralNumber())
            throw new SafeTensorsFormatException(file, name, "data_offsets must be [begin, end]");
        long begin = off.get(0).asLong(), end = off.get(1).asLong();
        if (begin < 0 || end < begin)
            throw new SafeTensorsFormatException(file, name, "data_offsets [" + begin + ", " + end + "] are not an increasing range");
        if (end > dataLen)
            throw new SafeTensorsFormatException(file, name, "data_offsets [" + begin + ", " + end
                    + "] run past the data section of " + dataLen + " bytes (truncated file?)");
        long want;
        try {
            want = Math.multiplyExact(count, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafeTensorsFormatException(file, name, "shape " + sh + " overflows");
        }
        if (end - begin != want)
            throw new SafeTensorsFormatException(file, name, "holds " + (end - begin) + " bytes but " + dtype + " "
                    + sh + " needs " + want);
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public Path file() {
        return file;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public TensorInfo info(String name) throws SafeTensorsFormatException {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new SafeTensorsFormatException(file, name, "no such tensor");
        return t;
    }

    /** The raw little-endian bytes of a tensor, without copying. */
    public MemorySegment segment(String name) throws SafeTensorsFormatException {
        TensorInfo t = info(name);
        return data.asSlice(t.begin(), t.end() - t.begin());
    }

    private int arrayLength(TensorInfo t) throws SafeTensorsFormatException {
        long n = t.elementCount();
        if (n > Integer.MAX_VALUE - 8)
            throw new SafeTensorsFormatException(file, t.name(), n + " elements do not fit one Java array");
        return (int) n;
    }

    /** Reads any floating-point tensor as float32 (F64 is rounded, F16/BF16 widened exactly). */
    public float[] floats(String name) throws SafeTensorsFormatException {
        TensorInfo t = info(name);
        MemorySegment s = segment(name);
        int n = arrayLength(t);
        float[] out = new float[n];
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(s, F32_LE, 0, out, 0, n);
            case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) s.getAtIndex(F64_LE, i); }
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(s.getAtIndex(I16_LE, i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((s.getAtIndex(I16_LE, i) & 0xffff) << 16); }
            default -> throw new SafeTensorsFormatException(file, name, "is " + t.dtype() + ", expected a floating-point tensor");
        }
        return out;
    }

    public double[] doubles(String name) throws SafeTensorsFormatException {
        TensorInfo t = info(name);
        if (t.dtype() != DType.F64) {
            float[] f = floats(name);
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) d[i] = f[i];
            return d;
        }
        int n = arrayLength(t);
        double[] out = new double[n];
        MemorySegment.copy(segment(name), F64_LE, 0, out, 0, n);
        return out;
    }

    /** Reads any integer tensor as int64. */
    public long[] longs(String name) throws SafeTensorsFormatException {
        TensorInfo t = info(name);
        MemorySegment s = segment(name);
        int n = arrayLength(t);
        long[] out = new long[n];
        switch (t.dtype()) {
            case I64 -> MemorySegment.copy(s, I64_LE, 0, out, 0, n);
            case I32 -> { for (int i = 0; i < n; i++) out[i] = s.getAtIndex(I32_LE, i); }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = s.getAtIndex(I16_LE, i); }
            case I8 -> { for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i); }
            case U8, BOOL -> { for (int i = 0; i < n; i++) out[i] = s.get(ValueLayout.JAVA_BYTE, i) & 0xff; }
            default -> throw new SafeTensorsFormatException(file, name, "is " + t.dtype() + ", expected an integer tensor");
        }
        return out;
    }

    @Override
    public void close() {
        arena.close();
    }
}
