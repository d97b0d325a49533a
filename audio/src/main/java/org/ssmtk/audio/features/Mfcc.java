package org.ssmtk.audio.features;

import be.tarsos.dsp.AudioEvent;
import be.tarsos.dsp.io.TarsosDSPAudioFormat;
import be.tarsos.dsp.mfcc.MFCC;

/**
 * Mel-frequency cepstral coefficients of a clip, frame by frame, by TarsosDSP's {@link MFCC}
 * (Hamming window, triangular mel filters, log, DCT), and a clip-level vector that pools them: the
 * mean then the standard deviation of every coefficient over the frames. A clip shorter than one
 * frame is zero-padded to one frame, so every clip gives at least one frame.
 */
public final class Mfcc {
    private final int frame, hop, coefficients, filters, sampleRate;

    public Mfcc(int sampleRate, int frame, int hop, int coefficients, int filters) {
        if (sampleRate < 1 || frame < 2 || hop < 1 || coefficients < 1 || filters < coefficients)
            throw new IllegalArgumentException("MFCC needs rate, frame >= 2, hop >= 1 and filters >= coefficients >= 1; got rate " + sampleRate
                    + ", frame " + frame + ", hop " + hop + ", " + coefficients + " coefficients, " + filters + " filters");
        if (Integer.bitCount(frame) != 1) throw new IllegalArgumentException("MFCC frame must be a power of two (FFT), got " + frame);
        this.sampleRate = sampleRate;
        this.frame = frame;
        this.hop = hop;
        this.coefficients = coefficients;
        this.filters = filters;
    }

    /** 32 ms frames, 16 ms hop, 20 coefficients from 30 mel filters between 133 Hz and Nyquist. */
    public static Mfcc standard(int sampleRate) {
        int frame = Integer.highestOneBit(Math.max(2, (int) Math.round(sampleRate * 0.032)));
        return new Mfcc(sampleRate, frame, frame / 2, 20, 30);
    }

    public int coefficients() {
        return coefficients;
    }

    /** The length of {@link #pooled}: mean and standard deviation of every coefficient. */
    public int pooledSize() {
        return 2 * coefficients;
    }

    public int frames(int samples) {
        return samples <= frame ? 1 : 1 + (samples - frame + hop - 1) / hop;
    }

    /** frames(samples.length) rows of {@link #coefficients()} values; the last frame is zero-padded. */
    public float[][] frames(float[] samples) {
        MFCC mfcc = new MFCC(frame, sampleRate, coefficients, filters, 133.3334f, sampleRate / 2f);
        AudioEvent event = new AudioEvent(new TarsosDSPAudioFormat(sampleRate, 16, 1, true, false));
        int n = frames(samples.length);
        float[][] out = new float[n][];
        for (int f = 0; f < n; f++) {
            float[] buf = new float[frame];
            int from = f * hop;
            System.arraycopy(samples, from, buf, 0, Math.max(0, Math.min(frame, samples.length - from)));
            event.setFloatBuffer(buf);
            mfcc.process(event);
            out[f] = mfcc.getMFCC().clone();
        }
        return out;
    }

    public double[] pooled(float[] samples) {
        float[][] f = frames(samples);
        double[] out = new double[pooledSize()];
        for (int c = 0; c < coefficients; c++) {
            double sum = 0, sq = 0;
            for (float[] row : f) sum += row[c];
            double mean = sum / f.length;
            for (float[] row : f) sq += (row[c] - mean) * (row[c] - mean);
            out[c] = mean;
            out[coefficients + c] = Math.sqrt(sq / f.length);
        }
        return out;
    }
}
