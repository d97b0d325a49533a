package org.ssmtk.audio.quantize;

/**
 * Linear 8-bit quantization: 256 evenly spaced levels over [-1, 1], code = round((x + 1) / 2 * 255).
 * The baseline mu-law is compared against; it wastes levels on loud samples that are rare.
 */
public final class Linear8 implements Quantizer {
    @Override
    public int encode(float x) {
        double c = Float.isNaN(x) ? 0 : Math.max(-1, Math.min(1, x));
        return (int) Math.floor((c + 1) / 2 * 255 + 0.5);
    }

    @Override
    public float decode(int code) {
        if (code < 0 || code >= 256) throw new IllegalArgumentException("linear code " + code + " outside [0, 255]");
        return (float) (2.0 * code / 255 - 1);
    }

    @Override
    public String name() {
        return "linear";
    }
}
