package org.ssmtk.audio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.audio.quantize.Quantizer;
import org.ssmtk.core.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a waveform model's token ids mean: the sample rate and the quantization (256 levels), kept
 * as {@value #FILE} next to config.json. Without it a generated token stream could not be turned
 * back into sound at the right speed, and a model could silently continue training on other codes.
 */
public record AudioSettings(int sampleRate, String quantization) {
    public static final String FILE = "audio.json";
    public static final String TYPE = "ssmtk-audio-waveform";
    public static final int VERSION = 1, LEVELS = 256;

    public AudioSettings {
        if (sampleRate < 1) throw new IllegalArgumentException("sample rate must be positive, got " + sampleRate);
        Quantizer.named(quantization); // validates
    }

    public Quantizer quantizer() {
        return Quantizer.named(quantization);
    }

    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("type", TYPE).put("version", VERSION).put("sample_rate", sampleRate).put("quantization", quantization).put("levels", LEVELS)
                .put("channels", 1);
        return n;
    }

    public void write(Path modelDir) throws IOException {
        AtomicFiles.write(modelDir.resolve(FILE), out -> out.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(toJson())));
    }

    /** The settings of a model directory, or null when it has none (a model not trained on audio). */
    public static AudioSettings read(Path modelDir) throws IOException {
        Path f = modelDir.resolve(FILE);
        if (!Files.exists(f)) return null;
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new IOException(f + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
        if (n == null || !TYPE.equals(n.path("type").asText()) || n.path("version").asInt() != VERSION || n.path("levels").asInt() != LEVELS)
            throw new IOException(f + ": not " + TYPE + " v" + VERSION + " with " + LEVELS + " levels");
        try {
            return new AudioSettings(n.path("sample_rate").asInt(), n.path("quantization").asText());
        } catch (IllegalArgumentException e) {
            throw new IOException(f + ": " + e.getMessage(), e);
        }
    }
}
