package org.ssmtk.audio.quantize;

/**
 * 8-bit mu-law (mu = 255, 256 levels) as WaveNet and the Mamba paper's audio experiments use it:
 * companding spends more levels near zero, where most of a waveform's samples are. The code of x in
 * [-1, 1] is round((F(x) + 1) / 2 * 255) with F(x) = sign(x) ln(1 + mu|x|) / ln(1 + mu); decoding
 * maps a code to F^-1 of its level, so decode then encode returns every code exactly. Zero sits
 * halfway between codes 127 and 128 and rounds up to 128.
 */
public final class MuLaw implements Quantizer {
    public static final int LEVELS = 256;
    private static final double MU = LEVELS - 1, LOG1P_MU = Math.log1p(MU);

    @Override
    public int encode(float x) {
        double c = Float.isNaN(x) ? 0 : Math.max(-1, Math.min(1, x));
        double f = Math.signum(c) * Math.log1p(MU * Math.abs(c)) / LOG1P_MU;
        return (int) Math.floor((f + 1) / 2 * MU + 0.5);
    }

    @Override
    public float decode(int code) {
        if (code < 0 || code >= LEVELS) throw new IllegalArgumentException("mu-law code " + code + " outside [0, 255]");
        double f = 2.0 * code / MU - 1;
        return (float) (Math.signum(f) * Math.expm1(Math.abs(f) * LOG1P_MU) / MU);
    }

    @Override
    public String name() {
        return "mu-law";
    }
}
