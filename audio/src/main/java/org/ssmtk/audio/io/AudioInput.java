package org.ssmtk.audio.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** WAV inputs as mono clips at one sample rate: a file, or every *.wav in a folder (sorted, not recursive). */
public final class AudioInput {
    private AudioInput() {}

    public record Named(Path file, float[] samples, WavReader.Clip original) {}

    public static List<Path> files(Path input) throws IOException {
        if (Files.isRegularFile(input)) return List.of(input);
        if (!Files.isDirectory(input)) throw new java.nio.file.NoSuchFileException(input.toString());
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(input)) {
            s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".wav"))
                    .sorted().forEach(out::add);
        }
        if (out.isEmpty()) throw new WavException(input, "no *.wav files in this folder");
        return out;
    }

    public static Named read(Path file, int sampleRate) throws IOException {
        WavReader.Clip c = WavReader.read(file);
        return new Named(file, Resampling.resample(c.samples(), c.sampleRate(), sampleRate), c);
    }

    public static List<Named> readAll(Path input, int sampleRate) throws IOException {
        List<Named> out = new ArrayList<>();
        for (Path f : files(input)) out.add(read(f, sampleRate));
        return out;
    }
}
