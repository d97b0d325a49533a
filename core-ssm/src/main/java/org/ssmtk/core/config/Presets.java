package org.ssmtk.core.config;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Named model shapes that commands offer with {@code --preset}: config.json files shipped in this
 * jar under {@code org/ssmtk/core/config/presets/NAME.json}, so a preset is read exactly as a user's
 * {@code --config} would be. 130m is the Mamba-130M shape (GPT-NeoX vocabulary); dna and tiny have a
 * DNA-sized vocabulary. 130m-mamba2 is the shape of state-spaces/mamba2-130m (24 heads of 64, state
 * 128, one group); dna-mamba2 is a Mamba-2 as wide as dna (8 heads of 64, state 64).
 */
public final class Presets {
    /** The shipped presets, in the order help texts list them. */
    public static final List<String> NAMES = List.of("130m", "dna", "tiny", "130m-mamba2", "dna-mamba2");

    private Presets() {}

    /** The preset's config; an unknown name is an IllegalArgumentException that lists the known ones. */
    public static MambaConfig get(String name) {
        if (!NAMES.contains(name))
            throw new IllegalArgumentException("unknown model preset '" + name + "' (" + String.join(", ", NAMES) + ")");
        String resource = "presets/" + name + ".json";
        try (InputStream in = Presets.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("preset resource " + resource + " is missing from the jar");
            return MambaConfig.fromJson(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("reading preset " + resource, e);
        }
    }
}
