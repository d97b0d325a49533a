package org.ssmtk.core.classify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The class names of a classifier, stored beside its weights as {@code labels.json}
 * ({@code {"labels": [...], "seq_len": L}}): config.json only knows how many classes there are, and
 * the window length it was trained on is the sensible default for classifying.
 */
public record ClassLabels(List<String> names, int seqLen) {
    public static final String FILE = "labels.json";

    public ClassLabels {
        names = List.copyOf(names);
        if (names.size() < 2) throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + names.size());
        if (names.stream().distinct().count() != names.size()) throw new IllegalArgumentException("class names repeat: " + names);
    }

    public void write(Path modelDir) throws IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        names.forEach(n.putArray("labels")::add);
        n.put("seq_len", seqLen);
        AtomicFiles.write(modelDir.resolve(FILE), out -> new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(out, n));
    }

    /**
     * Reads {@code labels.json}; without one (a head trained elsewhere) the classes are named by
     * their index, so the model stays usable.
     */
    public static ClassLabels read(Path modelDir, int numLabels) throws IOException {
        Path f = modelDir.resolve(FILE);
        if (!Files.exists(f)) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < numLabels; i++) names.add(Integer.toString(i));
            return new ClassLabels(names, 0);
        }
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(f + ": not valid JSON");
        }
        List<String> names = new ArrayList<>();
        n.path("labels").forEach(x -> names.add(x.asText()));
        if (names.size() != numLabels)
            throw new ModelFormatException(f + ": " + names.size() + " labels, but config.json's classifier has " + numLabels);
        try {
            return new ClassLabels(names, n.path("seq_len").asInt(0));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(f + ": " + e.getMessage());
        }
    }
}
