package org.ssmtk.core.bench;

import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Prompt processing and decoding of one model, batch 1, measured the way bench/peers/llama_mamba.c
 * measures llama.cpp, so the two columns of scripts/bench-cpu.sh compare like with like: the same
 * token ids (the same LCG), a prompt's forward with the logits of its last position only, then a
 * greedy decode from a one-token prompt in which each step feeds the last step's argmax.
 */
public final class ModelTiming {
    /** One repeat: seconds for the prompt, seconds per decoded token. */
    public record Rep(double promptSeconds, double secondsPerToken) {}

    private ModelTiming() {}

    /** The peer driver's token ids: x = x * 1103515245 + 12345 (mod 2^32), id = (x >> 8) mod vocab. */
    public static int[] tokens(int n, int vocab) {
        int[] ids = new int[n];
        int x = 1;
        for (int i = 0; i < n; i++) {
            x = x * 1103515245 + 12345;
            ids[i] = (int) (Integer.toUnsignedLong(x) >>> 8) % vocab;
        }
        return ids;
    }

    /** Warms up (at least 3 s and one repeat, so the kernels are compiled), then measures {@code repeats}. */
    public static List<Rep> run(MambaModel model, int promptLen, int decodeTokens, int repeats, Consumer<String> progress) {
        int[] ids = tokens(Math.max(2, promptLen), model.config().vocabSize());
        progress.accept("warming up");
        long start = System.nanoTime();
        for (int i = 0; i < 1 || System.nanoTime() - start < 3_000_000_000L; i++) once(model, ids, promptLen, decodeTokens);
        List<Rep> reps = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
            reps.add(once(model, ids, promptLen, decodeTokens));
            progress.accept("repeat " + (r + 1) + "/" + repeats);
        }
        return reps;
    }

    private static Rep once(MambaModel model, int[] ids, int promptLen, int decodeTokens) {
        long t0 = System.nanoTime();
        Tensor hidden = model.backbone(java.util.Arrays.copyOf(ids, promptLen), 1, promptLen, null, null);
        model.backend().toHost(model.logits(hidden.rows(promptLen - 1, promptLen)));
        double prompt = (System.nanoTime() - t0) / 1e9;
        MambaState state = model.newState(1);
        model.forward(new int[]{ids[0]}, 1, 1, state);
        int next = ids[1], vocab = model.config().vocabSize();
        t0 = System.nanoTime();
        for (int s = 0; s < decodeTokens; s++) {
            float[] logits = model.step(new int[]{next}, state);
            int best = 0;
            for (int v = 1; v < vocab; v++) if (logits[v] > logits[best]) best = v;
            next = best;
        }
        return new Rep(prompt, (System.nanoTime() - t0) / 1e9 / decodeTokens);
    }
}
