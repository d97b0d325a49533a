package org.ssmtk.core.train;

import org.ssmtk.core.io.ModelFormatException;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.io.TensorInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A corpus of token ids as one stream, from which training windows are cut. Formats: safetensors
 * with an integer tensor named input_ids or tokens (any shape: rows are concatenated), or a raw
 * stream of little-endian uint8 or uint16 ids (as nanoGPT-style .bin files).
 */
public final class TokenStream {
    public enum Format { SAFETENSORS, U8, U16 }

    private final Path file;
    private final int[] tokens;

    private TokenStream(Path file, int[] tokens) {
        this.file = file;
        this.tokens = tokens;
    }

    public static TokenStream read(Path file, Format format, int vocab) throws IOException {
        int[] ids = switch (format) {
            case SAFETENSORS -> fromSafeTensors(file);
            case U8, U16 -> raw(file, format);
        };
        for (int i = 0; i < ids.length; i++)
            if (ids[i] < 0 || ids[i] >= vocab)
                throw new ModelFormatException(file + ": token " + i + " is " + ids[i] + ", outside the model's vocabulary of " + vocab);
        return new TokenStream(file, ids);
    }

    private static int[] fromSafeTensors(Path file) throws IOException {
        try (SafeTensorsReader r = SafeTensorsReader.open(file)) {
            String name = r.contains("input_ids") ? "input_ids" : r.contains("tokens") ? "tokens" : null;
            if (name == null) throw new ModelFormatException(file + ": no tensor named input_ids or tokens");
            TensorInfo t = r.info(name);
            if (t.dtype().isFloatingPoint()) throw new ModelFormatException(file + ": " + name + " is " + t.dtype() + ", expected integers");
            long[] v = r.longs(name);
            int[] out = new int[v.length];
            for (int i = 0; i < v.length; i++) {
                if (v[i] < 0 || v[i] > Integer.MAX_VALUE) throw new ModelFormatException(file + ": " + name + "[" + i + "] = " + v[i] + " is not a token id");
                out[i] = (int) v[i];
            }
            return out;
        }
    }

    private static int[] raw(Path file, Format format) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (format == Format.U8) {
            int[] out = new int[bytes.length];
            for (int i = 0; i < out.length; i++) out[i] = bytes[i] & 0xff;
            return out;
        }
        if (bytes.length % 2 != 0) throw new ModelFormatException(file + ": " + bytes.length + " bytes is not a whole number of uint16 tokens");
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int[] out = new int[bytes.length / 2];
        for (int i = 0; i < out.length; i++) out[i] = b.getShort() & 0xffff;
        return out;
    }

    public int size() {
        return tokens.length;
    }

    /** Random windows of len tokens, `batch` per micro-batch, a function of (seed, step, micro). */
    public BatchSource windows(int batch, int len, long seed) throws ModelFormatException {
        if (tokens.length < len)
            throw new ModelFormatException(file + ": " + tokens.length + " tokens, fewer than one window of " + len);
        return (step, micro) -> {
            var rnd = BatchSource.random(seed, step, micro);
            int[] ids = new int[batch * len];
            for (int b = 0; b < batch; b++) System.arraycopy(tokens, rnd.nextInt(tokens.length - len + 1), ids, b * len, len);
            return Batch.nextToken(ids, batch, len);
        };
    }
}
