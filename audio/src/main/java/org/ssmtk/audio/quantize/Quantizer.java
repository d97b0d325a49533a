package org.ssmtk.audio.quantize;

/** Samples in [-1, 1] to one of 256 codes (token ids) and back. Out-of-range input is clipped. */
public interface Quantizer {
    int encode(float x);

    float decode(int code);

    /** The name recorded in a model's audio.json. */
    String name();

    default int[] encode(float[] xs) {
        int[] out = new int[xs.length];
        for (int i = 0; i < xs.length; i++) out[i] = encode(xs[i]);
        return out;
    }

    default float[] decode(int[] codes) {
        float[] out = new float[codes.length];
        for (int i = 0; i < codes.length; i++) out[i] = decode(codes[i]);
        return out;
    }

    static Quantizer named(String name) {
        return switch (name) {
            case "mu-law", "mulaw" -> new MuLaw();
            case "linear" -> new Linear8();
            default -> throw new IllegalArgumentException("unknown quantization '" + name + "' (mu-law or linear)");
        };
    }
}
