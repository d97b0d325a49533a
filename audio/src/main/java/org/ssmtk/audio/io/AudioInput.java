package org.ssmtk.audio.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * WAV inputs as mono clips at one sample rate: a file, every *.wav in a folder (sorted, not
 * recursive), or the clips of a {@link Manifest} (whole files or start/end segments).
 */
public final class AudioInput {
    private AudioInput() {}

    /** A clip: its file, its name in outputs (the path, or PATH:START-END for a segment), its samples at the asked rate. */
    public record Named(Path file, String id, String label, float[] samples, WavReader.Clip original) {}

    public static List<Path> files(Path input) throws IOException {
        if (Files.isRegularFile(input)) return List.of(input);
        if (!Files.isDirectory(input)) throw new java.nio.file.NoSuchFileException(input.toString());
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(input)) {
            s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".wav"))
                    .sorted().forEach(out::add);
        }
        if (out.isEmpty()) {
            long flac;
            try (Stream<Path> s = Files.list(input)) {
                flac = s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".flac")).count();
            }
            throw new WavException(input, "no *.wav files in this folder" + (flac == 0 ? ""
                    : " (" + flac + " *.flac: FLAC is not supported; convert to WAV first, e.g. flac -d)"));
        }
        return out;
    }

    public static Named read(Path file, int sampleRate) throws IOException {
        WavReader.Clip c = WavReader.read(file);
        return new Named(file, file.toString(), null, Resampling.resample(c.samples(), c.sampleRate(), sampleRate), c);
    }

    public static List<Named> readAll(Path input, int sampleRate) throws IOException {
        List<Named> out = new ArrayList<>();
        for (Path f : files(input)) out.add(read(f, sampleRate));
        return out;
    }

    /** A manifest line's clip: the segment is cut at the file's own rate, then resampled. */
    public static Named read(Manifest.Entry e, int sampleRate) throws IOException {
        WavReader.Clip c;
        try {
            c = WavReader.read(e.path());
        } catch (IOException ex) {
            throw new IOException(e.where() + ": " + ex.getMessage(), ex);
        }
        float[] x = c.samples();
        if (e.segment()) {
            double seconds = x.length / (double) c.sampleRate();
            int from = Double.isNaN(e.start()) ? 0 : (int) Math.round(e.start() * c.sampleRate());
            int to = Double.isNaN(e.end()) ? x.length : (int) Math.round(e.end() * c.sampleRate());
            if (!Double.isNaN(e.end()) && e.end() > seconds + 0.5 / c.sampleRate())
                throw new Manifest.ManifestException(e.where(), String.format(Locale.ROOT, "end %s s is past the end of %s (%.6g s)", e.end(), e.path(), seconds));
            to = Math.min(to, x.length);
            if (from >= to) throw new Manifest.ManifestException(e.where(), "the segment of " + e.path() + " holds no samples");
            x = java.util.Arrays.copyOfRange(x, from, to);
        }
        return new Named(e.path(), e.id(), e.label(), Resampling.resample(x, c.sampleRate(), sampleRate), c);
    }

    public static List<Named> read(Manifest m, int sampleRate) throws IOException {
        List<Named> out = new ArrayList<>();
        for (Manifest.Entry e : m.entries()) out.add(read(e, sampleRate));
        return out;
    }
}
