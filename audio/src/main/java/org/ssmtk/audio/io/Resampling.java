package org.ssmtk.audio.io;

import be.tarsos.dsp.resample.Resampler;

/**
 * Sample-rate conversion with TarsosDSP's band-limited resampler (a port of libresample: windowed
 * sinc interpolation, with a low-pass when downsampling so that content above the new Nyquist
 * frequency does not alias). The output has round(n * to / from) samples.
 */
public final class Resampling {
    private Resampling() {}

    public static float[] resample(float[] in, int fromRate, int toRate) {
        if (fromRate < 1 || toRate < 1) throw new IllegalArgumentException("sample rates must be positive: " + fromRate + " -> " + toRate);
        if (fromRate == toRate || in.length == 0) return in.clone();
        double factor = toRate / (double) fromRate;
        int want = (int) Math.round(in.length * factor);
        Resampler r = new Resampler(true, factor, factor);
        float[] out = new float[want + r.getFilterWidth() + 16];
        int consumed = 0, produced = 0;
        // The resampler may stop early when its internal buffers fill; feed it until it has seen all input and drained.
        for (int guard = 0; guard < 1_000_000; guard++) {
            Resampler.Result res = r.process(factor, in, consumed, in.length - consumed, true, out, produced, out.length - produced);
            consumed += res.inputSamplesConsumed;
            produced += res.outputSamplesGenerated;
            if ((consumed >= in.length && res.outputSamplesGenerated == 0) || produced >= out.length) break;
        }
        float[] exact = new float[want];
        System.arraycopy(out, 0, exact, 0, Math.min(want, produced));
        return exact;
    }
}
