package org.ssmtk.core.tensor;

/**
 * Block-scaled int8 (the Q8_0 layout of ggml): each run of {@link #BLOCK} consecutive values of a
 * row is stored as 32 signed bytes and one scale, value = q * scale. The scale is amax / 127 rounded
 * to IEEE half precision (as Q8_0 stores it), and q = round-half-away-from-zero(x / scale), so a
 * matrix quantized here and one written to a GGUF Q8_0 tensor hold the same numbers bit for bit.
 * <p>
 * The activations an int8 product multiplies are quantized on the fly by the same rule with the
 * scale kept in fp32 ({@link #quantizeActivations}): the product is then one of bytes, as
 * llama.cpp's Q8_0 dot product is (which rounds its activations' scales to half precision too).
 */
public final class Q8Blocks {
    public static final int BLOCK = 32;

    private Q8Blocks() {}

    /** Whether rows of this length split into whole blocks (otherwise the matrix stays float). */
    public static boolean fits(int rowLength) {
        return rowLength > 0 && rowLength % BLOCK == 0;
    }

    /**
     * Quantizes {@code k} values of {@code src} from {@code srcOff} into {@code q} from {@code qOff}
     * and their k / 32 scales (as half-precision bits) into {@code scales} from {@code scaleOff}.
     */
    public static void quantize(float[] src, int srcOff, int k, byte[] q, int qOff, short[] scales, int scaleOff) {
        if (!fits(k)) throw new IllegalArgumentException("a row of " + k + " values is not whole blocks of " + BLOCK);
        for (int b = 0; b < k / BLOCK; b++) scales[scaleOff + b] = Float.floatToFloat16(quantizeBlock(src, srcOff + b * BLOCK, q, qOff + b * BLOCK));
    }

    /**
     * Quantizes {@code k} activations of {@code x} from {@code xo} (whole blocks) into {@code q} from
     * {@code qo} and one fp32 scale per block into {@code scales} from {@code so}: scale = amax / 127,
     * q = round-half-away-from-zero(x / scale), so |q| <= 127 and an activation stands for q * scale.
     */
    public static void quantizeActivations(float[] x, int xo, int k, byte[] q, int qo, float[] scales, int so) {
        if (!fits(k)) throw new IllegalArgumentException(k + " activations are not whole blocks of " + BLOCK);
        for (int b = 0; b < k / BLOCK; b++) scales[so + b] = quantizeBlock(x, xo + b * BLOCK, q, qo + b * BLOCK);
    }

    /** One block of src from off into q from qo; returns its scale amax / 127 in fp32 (the bytes are rounded with it unrounded). */
    private static float quantizeBlock(float[] src, int off, byte[] q, int qo) {
        float amax = 0;
        for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(src[off + j]));
        float d = amax / 127f;
        float inv = d != 0 ? 1f / d : 0f;
        for (int j = 0; j < BLOCK; j++) q[qo + j] = (byte) roundHalfAway(src[off + j] * inv);
        return d;
    }

    /** C's roundf: halves go away from zero (Java's Math.round sends -0.5 to 0). */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs(v) + 0.5f), v);
    }

    /** The value a quantized element stands for. */
    public static float dequantize(byte q, short scaleBits) {
        return q * Float.float16ToFloat(scaleBits);
    }
}
