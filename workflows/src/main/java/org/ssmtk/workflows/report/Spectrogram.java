package org.ssmtk.workflows.report;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * A magnitude spectrogram image (time left to right, frequency bottom to top, 80 dB range) of a mono
 * clip: 512-sample Hann windows, spread evenly over the clip (overlapping for short clips) into at
 * most 800 columns.
 */
final class Spectrogram {
    static final int N = 512;

    private Spectrogram() {}

    static byte[] png(float[] x, int rate) throws IOException {
        int frames = Math.max(1, Math.min(800, x.length - N + 1));
        double hop = frames > 1 ? (double) (x.length - N) / (frames - 1) : 0;
        int bins = N / 2;
        double[][] db = new double[frames][bins];
        double max = -Double.MAX_VALUE;
        double[] re = new double[N], im = new double[N];
        for (int f = 0; f < frames; f++) {
            for (int i = 0; i < N; i++) {
                int k = (int) Math.round(f * hop) + i;
                double w = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (N - 1));
                re[i] = k < x.length ? x[k] * w : 0;
                im[i] = 0;
            }
            fft(re, im);
            for (int b = 0; b < bins; b++) {
                db[f][b] = 10 * Math.log10(re[b] * re[b] + im[b] * im[b] + 1e-12);
                max = Math.max(max, db[f][b]);
            }
        }
        int height = bins;
        BufferedImage img = new BufferedImage(frames, height, BufferedImage.TYPE_INT_RGB);
        for (int f = 0; f < frames; f++)
            for (int b = 0; b < bins; b++) {
                double v = Math.max(0, Math.min(1, (db[f][b] - (max - 80)) / 80));
                img.setRGB(f, height - 1 - b, color(v));
            }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    /** dark blue -> magenta -> yellow */
    private static int color(double v) {
        int r = (int) Math.round(255 * Math.min(1, 1.6 * v));
        int g = (int) Math.round(255 * Math.max(0, (v - 0.5) * 2));
        int b = (int) Math.round(255 * (v < 0.5 ? 0.3 + v : Math.max(0, 1.3 - 1.6 * v)));
        return (r << 16) | (g << 8) | Math.max(0, Math.min(255, b));
    }

    /** In-place radix-2 FFT (N is a power of two). */
    static void fft(double[] re, double[] im) {
        int n = re.length;
        for (int i = 1, j = 0; i < n; i++) {
            int bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1) j ^= bit;
            j ^= bit;
            if (i < j) {
                double t = re[i]; re[i] = re[j]; re[j] = t;
                t = im[i]; im[i] = im[j]; im[j] = t;
            }
        }
        for (int len = 2; len <= n; len <<= 1) {
            double ang = -2 * Math.PI / len;
            for (int i = 0; i < n; i += len)
                for (int k = 0; k < len / 2; k++) {
                    double wr = Math.cos(ang * k), wi = Math.sin(ang * k);
                    int a = i + k, b = i + k + len / 2;
                    double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - xr; im[b] = im[a] - xi;
                    re[a] += xr; im[a] += xi;
                }
        }
    }
}
