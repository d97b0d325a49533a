package org.ssmtk.core.nn;

import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.GgufWriter;
import org.ssmtk.core.tensor.HostTensor;
import org.ssmtk.core.tensor.Q8Blocks;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Mamba-1 checkpoint as the GGUF file llama.cpp's "mamba" architecture loads: its tensor names
 * (token_embd, blk.N.attn_norm, blk.N.ssm_in/conv1d/x/dt/a/d/out, output_norm, output), A stored as
 * -exp(A_log), the conv weight squeezed to (d_inner, kernel), a tied head omitted, and no tokenizer
 * ("no_vocab": ids in, logits out). Matrices are stored as the requested type; norms, 1-D tensors,
 * the conv weight and A/D stay F32 as llama.cpp's converter keeps them, and a matrix whose rows are
 * not whole Q8_0 blocks (dt_proj's rank columns) stays F32 in a Q8_0 file — the same matrices
 * {@code --weights int8} leaves in float, so both hold identical numbers.
 */
public final class GgufExport {
    private GgufExport() {}

    public static void write(MambaCheckpoint checkpoint, GgufWriter.Type type, Path file) throws IOException {
        MambaConfig c = checkpoint.config();
        if (!MambaConfig.MAMBA.equals(c.modelType()) || !c.selective() || c.hasClassifier())
            throw new IllegalArgumentException("GGUF export covers selective Mamba-1 language models; this is "
                    + c.modelType() + (c.selective() ? "" : " (non-selective)") + (c.hasClassifier() ? " with a classifier head" : ""));
        if (c.useBias())
            throw new IllegalArgumentException("llama.cpp's mamba architecture has no in_proj/out_proj biases (use_bias=true)");
        Map<String, HostTensor> p = checkpoint.parameters();
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "mamba")
                .putString("general.name", "ssmtk export")
                .putU32("general.file_type", switch (type) { case F32 -> 0; case F16 -> 1; case Q8_0 -> 7; })
                .putU32("mamba.context_length", 1 << 20)
                .putU32("mamba.embedding_length", c.hiddenSize())
                .putU32("mamba.feed_forward_length", 0)
                .putU32("mamba.attention.head_count", 0)
                .putU32("mamba.block_count", c.numHiddenLayers())
                .putU32("mamba.ssm.conv_kernel", c.convKernel())
                .putU32("mamba.ssm.inner_size", c.intermediateSize())
                .putU32("mamba.ssm.state_size", c.stateSize())
                .putU32("mamba.ssm.time_step_rank", c.timeStepRank())
                .putF32("mamba.attention.layer_norm_rms_epsilon", (float) c.layerNormEpsilon())
                .putBool("mamba.ssm.dt_b_c_rms", false)
                .putU32("mamba.vocab_size", c.paddedVocabSize())
                .putString("tokenizer.ggml.model", "no_vocab");
        matrix(w, "token_embd.weight", p.get(ParameterSpec.EMBEDDINGS), type);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String b = "blk." + i + ".";
            HostTensor conv = get(p, i, "mixer.conv1d.weight");
            w.tensor(b + "attn_norm.weight", get(p, i, "norm.weight").data(), GgufWriter.Type.F32, c.hiddenSize());
            matrix(w, b + "ssm_in.weight", get(p, i, "mixer.in_proj.weight"), type);
            w.tensor(b + "ssm_conv1d.weight", conv.data(), GgufWriter.Type.F32, c.intermediateSize(), c.convKernel());
            if (c.useConvBias()) w.tensor(b + "ssm_conv1d.bias", get(p, i, "mixer.conv1d.bias").data(), GgufWriter.Type.F32, c.intermediateSize());
            matrix(w, b + "ssm_x.weight", get(p, i, "mixer.x_proj.weight"), type);
            matrix(w, b + "ssm_dt.weight", get(p, i, "mixer.dt_proj.weight"), type);
            w.tensor(b + "ssm_dt.bias", get(p, i, "mixer.dt_proj.bias").data(), GgufWriter.Type.F32, c.intermediateSize());
            float[] aLog = get(p, i, "mixer.A_log").data(), a = new float[aLog.length];
            for (int j = 0; j < a.length; j++) a[j] = (float) -Math.exp(aLog[j]);
            w.tensor(b + "ssm_a", a, GgufWriter.Type.F32, c.intermediateSize(), c.stateSize());
            w.tensor(b + "ssm_d", get(p, i, "mixer.D").data(), GgufWriter.Type.F32, c.intermediateSize());
            matrix(w, b + "ssm_out.weight", get(p, i, "mixer.out_proj.weight"), type);
        }
        w.tensor("output_norm.weight", p.get(ParameterSpec.NORM_F).data(), GgufWriter.Type.F32, c.hiddenSize());
        if (!c.tieWordEmbeddings()) matrix(w, "output.weight", p.get(ParameterSpec.LM_HEAD), type);
        w.write(file);
    }

    /** A 2-D weight as the file's type, or F32 where Q8_0 blocks do not fit its rows. */
    private static void matrix(GgufWriter w, String name, HostTensor t, GgufWriter.Type type) {
        int[] s = t.shape();
        GgufWriter.Type as = type == GgufWriter.Type.Q8_0 && !Q8Blocks.fits(s[1]) ? GgufWriter.Type.F32 : type;
        w.tensor(name, t.data(), as, s[0], s[1]);
    }

    private static HostTensor get(Map<String, HostTensor> p, int layer, String suffix) {
        return p.get(ParameterSpec.layer(layer, suffix));
    }
}
