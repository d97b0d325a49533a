package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.CaduceusSettings;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Caduceus ({@code model_type: "caduceus"}): kuleshov-group's CaduceusForMaskedLM, in its
 * state_dict's names. Each layer's mixer is a {@link BiMambaMixer} over two mamba_ssm Mamba-1
 * mixers ({@code mixer.mamba_fwd.*}, {@code mixer.mamba_rev.*}); the stack is the shared one under
 * {@code caduceus.backbone.}. Caduceus-PS (rcps) wraps the embedding, the mixers, the norms and the
 * head in RCPS modules, which add a level to the names and become a second strand of the stack
 * ({@link Strands}); its checkpoints also carry the complement map as integer buffers.
 */
final class CaduceusFamily implements ModelFamily {
    private static final String BACKBONE = "caduceus.backbone.";
    private static final MambaFamily MAMBA = new MambaFamily();

    @Override
    public String modelType() {
        return MambaConfig.CADUCEUS;
    }

    private static CaduceusSettings settings(MambaConfig c) {
        return c.caduceus();
    }

    @Override
    public StackNames stackNames(MambaConfig c) {
        CaduceusSettings s = settings(c);
        if (!s.rcps())
            return new StackNames(BACKBONE + "embeddings.word_embeddings.weight", BACKBONE + "layers.", "norm.weight",
                    "mixer.", BACKBONE + "norm_f.weight", "lm_head.weight");
        // The RCPS add+norm wraps the norm (".submodule.") only when the add and norm are not fused.
        String norm = s.fusedAddNorm() ? "norm.weight" : "norm.submodule.weight";
        return new StackNames(BACKBONE + "embeddings.word_embeddings.embedding.weight", BACKBONE + "layers.", norm,
                "mixer.submodule.", BACKBONE + (s.fusedAddNorm() ? "norm_f.weight" : "norm_f.submodule.weight"),
                "lm_head.lm_head.weight");
    }

    @Override
    public List<ParameterSpec.Entry> mixerParameters(MambaConfig c, String prefix) {
        List<ParameterSpec.Entry> e = new ArrayList<>(MAMBA.mixerParameters(c, prefix + "mamba_fwd."));
        if (settings(c).bidirectional())
            for (ParameterSpec.Entry r : MAMBA.mixerParameters(c, prefix + "mamba_rev."))
                if (!settings(c).weightTie() || !isProjection(r.name())) e.add(r);
        return e;
    }

    /** in_proj and out_proj, weight and bias: what bidirectional_weight_tie shares. */
    private static boolean isProjection(String name) {
        return name.contains(".in_proj.") || name.contains(".out_proj.");
    }

    @Override
    public Map<String, String> tiedCopies(MambaConfig c) {
        Map<String, String> ties = new LinkedHashMap<>(ModelFamily.super.tiedCopies(c));
        StackNames names = stackNames(c);
        if (settings(c).bidirectional() && settings(c).weightTie())
            for (int i = 0; i < c.numHiddenLayers(); i++)
                for (ParameterSpec.Entry r : MAMBA.mixerParameters(c, names.mixer(i) + "mamba_rev."))
                    if (isProjection(r.name())) ties.put(r.name(), r.name().replace(".mamba_rev.", ".mamba_fwd."));
        return ties;
    }

    @Override
    public Set<String> buffers(MambaConfig c) {
        return settings(c).rcps()
                ? Set.of(BACKBONE + "embeddings.word_embeddings.complement_map", "lm_head.complement_map")
                : Set.of();
    }

    @Override
    public Strands strands(MambaConfig c) {
        CaduceusSettings s = settings(c);
        return s.rcps() ? Strands.reverseComplement(s.complementMap(), s.fusedAddNorm()) : Strands.ONE;
    }

    @Override
    public Mixer.Weights bind(MambaConfig c, Function<String, Tensor> tensors, String prefix) {
        MambaMixer.Weights fwd = MambaMixer.Weights.bind(c, tensors, prefix + "mamba_fwd.");
        if (!settings(c).bidirectional()) return new BiMambaMixer.Weights(fwd, null);
        boolean tie = settings(c).weightTie();
        Function<String, Tensor> rev = name -> tensors.apply(tie && isProjection(name)
                ? name.replace(".mamba_rev.", ".mamba_fwd.") : name);
        return new BiMambaMixer.Weights(fwd, MambaMixer.Weights.bind(c, rev, prefix + "mamba_rev."));
    }

    @Override
    public Mixer mixer(Backend backend, MambaConfig config, Mixer.Weights weights) {
        return new BiMambaMixer(backend, config, (BiMambaMixer.Weights) weights);
    }
}
