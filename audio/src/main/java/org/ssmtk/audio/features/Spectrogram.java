package org.ssmtk.audio.features;

import be.tarsos.dsp.util.fft.FFT;
import be.tarsos.dsp.util.fft.HannWindow;

/**
 * Short-time power spectrum in decibels (TarsosDSP's FFT, Hann window): {@code frames x (size/2)}
 * bins from 0 Hz up to (not including) Nyquist, 10 log10(|X|^2 + 1e-12) of the windowed frame.
 * Frames start every {@code hop} samples; the last is zero-padded.
 */
public final class Spectrogram {
    private Spectrogram() {}

    public record Result(float[][] db, int size, int hop, int sampleRate) {
        public double binHz(int bin) {
            return bin * (double) sampleRate / size;
        }

        public double frameSeconds(int frame) {
            return frame * (double) hop / sampleRate;
        }
    }

    public static Result of(float[] samples, int sampleRate, int size, int hop) {
        if (Integer.bitCount(size) != 1 || size < 4) throw new IllegalArgumentException("FFT size must be a power of two >= 4, got " + size);
        if (hop < 1) throw new IllegalArgumentException("hop must be >= 1, got " + hop);
        FFT fft = new FFT(size, new HannWindow());
        int frames = samples.length <= size ? 1 : 1 + (samples.length - size + hop - 1) / hop;
        float[][] db = new float[frames][size / 2];
        float[] buf = new float[size], amp = new float[size / 2];
        for (int f = 0; f < frames; f++) {
            java.util.Arrays.fill(buf, 0);
            int from = f * hop;
            System.arraycopy(samples, from, buf, 0, Math.max(0, Math.min(size, samples.length - from)));
            fft.forwardTransform(buf);
            fft.modulus(buf, amp);
            for (int k = 0; k < size / 2; k++) db[f][k] = (float) (10 * Math.log10((double) amp[k] * amp[k] + 1e-12));
        }
        return new Result(db, size, hop, sampleRate);
    }

    /** About 32 ms frames (a power of two) every quarter frame. */
    public static Result standard(float[] samples, int sampleRate) {
        int size = Integer.highestOneBit(Math.max(4, (int) Math.round(sampleRate * 0.032)));
        return of(samples, sampleRate, size, size / 4);
    }
}
