package org.ssmtk.core.nn;

import java.util.function.IntConsumer;

/**
 * Autoregressive generation with the recurrent state: the prompt is consumed in one parallel
 * forward, then each new token costs one {@link MambaModel#step}, whatever the length so far.
 */
public final class Generator {
    private final MambaModel model;

    public Generator(MambaModel model) {
        this.model = model;
    }

    /**
     * Generates up to maxNew tokens after prompt (at least one token). Stops early only when
     * stopToken (>= 0) is produced; the stop token is included. Each token is also passed to onToken.
     */
    public int[] generate(int[] prompt, int maxNew, Sampler sampler, int stopToken, IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt needs at least one token");
        if (maxNew < 0) throw new IllegalArgumentException("max-new must be >= 0");
        int vocab = model.config().paddedVocabSize();
        MambaState state = model.newState(1);
        float[] logits = model.forward(prompt, 1, prompt.length, state);
        int[] out = new int[maxNew];
        int produced = 0;
        int offset = (prompt.length - 1) * vocab;
        while (produced < maxNew) {
            int next = sampler.sample(logits, offset);
            out[produced++] = next;
            if (onToken != null) onToken.accept(next);
            if (next == stopToken || produced == maxNew) break;
            logits = model.step(new int[]{next}, state);
            offset = 0;
        }
        return java.util.Arrays.copyOf(out, produced);
    }
}
