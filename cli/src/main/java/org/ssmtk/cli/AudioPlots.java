package org.ssmtk.cli;

import org.ssmtk.audio.features.Spectrogram;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.workflows.report.Charts;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The pictures of the audio commands: waveform (XChart, via Charts), spectrogram (TarsosDSP FFT,
 * painted pixel by pixel: a chart library's heat map draws one shape per cell, far too slow for
 * seconds of audio) and NLL over time. Drawing failures only warn (TrainCommands.drawOrWarn).
 */
final class AudioPlots {
    private AudioPlots() {}

    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Waveform: at most ~4000 points, the min and max of each bucket of samples, so peaks stay visible. */
    static Path waveform(Path png, String title, float[] samples, int rate, PrintStream err) {
        return TrainCommands.drawOrWarn(png, err, file -> {
            int buckets = Math.max(1, Math.min(samples.length, 2000));
            double[] x = new double[2 * buckets], y = new double[2 * buckets];
            for (int b = 0; b < buckets; b++) {
                int from = (int) ((long) b * samples.length / buckets), to = Math.max(from + 1, (int) ((long) (b + 1) * samples.length / buckets));
                float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
                for (int i = from; i < Math.min(to, samples.length); i++) {
                    lo = Math.min(lo, samples[i]);
                    hi = Math.max(hi, samples[i]);
                }
                if (samples.length == 0) lo = hi = 0;
                x[2 * b] = x[2 * b + 1] = from / (double) rate;
                y[2 * b] = lo;
                y[2 * b + 1] = hi;
            }
            new Charts.Lines(title, "time (s)", "amplitude").add("waveform", x, y).writePng(file);
        });
    }

    static Path spectrogram(Path png, String title, float[] samples, int rate, PrintStream err) {
        return TrainCommands.drawOrWarn(png, err, file -> writeSpectrogram(file, title, Spectrogram.standard(samples, rate)));
    }

    /** Named lines of NLL (bits per sample) against time in seconds. */
    static Path nll(Path png, String title, java.util.Map<String, double[][]> series, PrintStream err) {
        return TrainCommands.drawOrWarn(png, err, file -> {
            Charts.Lines chart = new Charts.Lines(title, "time (s)", "NLL (bits per sample, frame mean)");
            series.forEach((name, xy) -> chart.add(name, xy[0], xy[1]));
            chart.writePng(file);
        });
    }

    private static void writeSpectrogram(Path file, String title, Spectrogram.Result s) throws IOException {
        int frames = s.db().length, bins = s.db()[0].length;
        int plotW = Math.max(800, Math.min(1600, frames * 4)), plotH = 360, left = 70, top = 40, right = 20, bottom = 50;
        BufferedImage img = new BufferedImage(left + plotW + right, top + plotH + bottom, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        float max = Float.NEGATIVE_INFINITY;
        for (float[] row : s.db()) for (float v : row) max = Math.max(max, v);
        float floor = max - 80; // 80 dB of dynamic range
        for (int px = 0; px < plotW; px++) {
            int f = Math.min(frames - 1, (int) ((long) px * frames / plotW));
            for (int py = 0; py < plotH; py++) {
                int k = Math.min(bins - 1, (int) ((long) (plotH - 1 - py) * bins / plotH));
                double t = Math.max(0, Math.min(1, (s.db()[f][k] - floor) / (max - floor)));
                img.setRGB(left + px, top + py, heat(t));
            }
        }
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1));
        g.drawRect(left, top, plotW, plotH);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        double seconds = s.frameSeconds(frames - 1) + s.size() / (double) s.sampleRate();
        for (int i = 0; i <= 5; i++) {
            int px = left + i * plotW / 5;
            g.drawLine(px, top + plotH, px, top + plotH + 5);
            g.drawString(String.format(Locale.ROOT, "%.2f", seconds * i / 5), px - 12, top + plotH + 20);
            int py = top + plotH - i * plotH / 5;
            g.drawLine(left - 5, py, left, py);
            g.drawString(String.format(Locale.ROOT, "%.0f", s.sampleRate() / 2.0 * i / 5), 5, py + 4);
        }
        g.drawString("time (s)", left + plotW / 2 - 20, top + plotH + 40);
        g.drawString("Hz", 5, top - 8);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title + String.format(Locale.ROOT, "  (FFT %d, hop %d, dB, top 80 dB)", s.size(), s.hop()), left, 25);
        g.dispose();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (!javax.imageio.ImageIO.write(img, "png", bytes)) throw new IOException("no PNG writer in this JVM");
        AtomicFiles.write(file, o -> o.write(bytes.toByteArray()));
    }

    /** Black -> purple -> orange -> yellow. */
    private static int heat(double t) {
        double r = Math.min(1, 1.6 * t), gr = Math.max(0, Math.min(1, 2 * t - 0.8)), b = t < 0.5 ? 1.2 * t : Math.max(0, 1.2 * (1 - t) - 0.1);
        return ((int) (255 * r) << 16) | ((int) (255 * gr) << 8) | (int) (255 * Math.max(0, b));
    }
}
