package org.ssmtk.core.bench;

import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.nn.Generator;
import org.ssmtk.core.nn.Sampler;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Prompt processing and decoding of one model, batch 1, measured the way bench/peers/llama_mamba.c
 * measures llama.cpp, so the two columns of scripts/bench-cpu.sh compare like with like: the same
 * token ids (the same LCG), a prompt's forward with the logits of its last position only, then a
 * greedy decode from a one-token prompt in which each step feeds the last step's argmax. Decoding
 * runs {@link Generator.Decoder}: the backend's fused step where it has one, or (for comparison)
 * the step op by op, or both, one after the other in every repeat.
 */
public final class ModelTiming {
    /**
     * Which decoding step to time: the decoder's own (FUSED: the backend's fused step where it has
     * one, else its recorded or op-by-op step), the op-by-op step, or both.
     */
    public enum Step { FUSED, OPS, BOTH }

    /**
     * One repeat: seconds for the prompt, seconds per decoded token, and with {@link Step#BOTH} the
     * op-by-op step's seconds per token as well (else NaN).
     */
    public record Rep(double promptSeconds, double secondsPerToken, double opsSecondsPerToken) {}

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

    public static List<Rep> run(MambaModel model, int promptLen, int decodeTokens, int repeats, Consumer<String> progress) {
        return run(model, promptLen, decodeTokens, repeats, Step.FUSED, progress);
    }

    /**
     * Warms up, then measures {@code repeats}. The warm-up lasts at least 3 s and until one whole
     * repeat ran with no JIT compilation in it (the JVM's compilation time unchanged across it), at
     * most 30 s: on two busy cores the compiler threads compete with the workers, and a 3 s warm-up
     * left the DNA shape's two-thread prompt at half its steady speed (0.21 s, then 0.12 s from the
     * sixth repeat on, 2026-11-30).
     */
    public static List<Rep> run(MambaModel model, int promptLen, int decodeTokens, int repeats, Step step,
                                Consumer<String> progress) {
        int[] ids = tokens(Math.max(2, promptLen), model.config().vocabSize());
        progress.accept("warming up");
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        int warm = 0;
        for (boolean quiet = false; ; warm++) {
            long elapsed = System.nanoTime() - start;
            if (warm > 0 && elapsed >= 3_000_000_000L && (quiet || !timed || elapsed >= 30_000_000_000L)) break;
            long compiled = timed ? jit.getTotalCompilationTime() : 0;
            once(model, ids, promptLen, decodeTokens, step);
            quiet = timed && jit.getTotalCompilationTime() == compiled;
        }
        progress.accept(String.format(java.util.Locale.ROOT, "warmed up: %d repeats in %.1f s", warm, (System.nanoTime() - start) / 1e9));
        List<Rep> reps = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
            reps.add(once(model, ids, promptLen, decodeTokens, step));
            progress.accept("repeat " + (r + 1) + "/" + repeats);
        }
        return reps;
    }

    private static Rep once(MambaModel model, int[] ids, int promptLen, int decodeTokens, Step step) {
        long t0 = System.nanoTime();
        Tensor hidden = model.backbone(java.util.Arrays.copyOf(ids, promptLen), 1, promptLen, null, null);
        model.backend().toHost(model.logits(hidden.rows(promptLen - 1, promptLen)));
        double prompt = (System.nanoTime() - t0) / 1e9;
        double main = decode(model, ids, decodeTokens, step != Step.OPS);
        double ops = step == Step.BOTH ? decode(model, ids, decodeTokens, false) : Double.NaN;
        return new Rep(prompt, main, ops);
    }

    /** Seconds per token of greedy decoding after ids[0], starting from ids[1]. */
    private static double decode(MambaModel model, int[] ids, int decodeTokens, boolean fused) {
        MambaState state = model.newState(1);
        model.forward(new int[]{ids[0]}, 1, 1, state);
        int[] next = {ids[1]};
        try (Generator.Decoder d = new Generator.Decoder(model, state, next, new Sampler(model.config().vocabSize(), 0, 0, 1), fused)) {
            long t0 = System.nanoTime();
            for (int s = 0; s < decodeTokens; s++) d.step();
            return (System.nanoTime() - t0) / 1e9 / decodeTokens;
        }
    }
}
