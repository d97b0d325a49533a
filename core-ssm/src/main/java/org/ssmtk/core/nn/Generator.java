package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.function.IntConsumer;

/**
 * Autoregressive generation with the recurrent state: the prompt is consumed in one parallel
 * forward, then each new token costs one recurrent step, whatever the length so far. Tokens are
 * picked on the backend ({@link Sampler#sample(Backend, Tensor)}), so only their ids cross to the
 * host; where the backend records ({@link Backend#record}: a CUDA graph) the step is recorded once
 * and replayed, which takes the host's cost per kernel out of every token.
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
        int[] out = new int[maxNew];
        if (maxNew == 0) return out;
        Backend backend = model.backend();
        MambaState state = model.newState(1);
        Tensor hidden = model.backbone(prompt, 1, prompt.length, state, null);
        Tensor last = model.logits(hidden.rows(prompt.length - 1, prompt.length));
        backend.release(hidden);
        int next = sampler.sample(backend, last)[0];
        backend.release(last);
        int produced = 0;
        try (Decoder decoder = new Decoder(model, state, new int[]{next}, sampler)) {
            while (true) {
                out[produced++] = next;
                if (onToken != null) onToken.accept(next);
                if (next == stopToken || produced == maxNew) break;
                next = decoder.step()[0];
            }
        }
        return Arrays.copyOf(out, produced);
    }

    /**
     * Generates for several prompts of any lengths in one batch: each prompt is read by a forward of
     * its own (once, when the same array is given for several rows), its state copied into its row of
     * one batched state, then one recurrent step at a time
     * advances every sequence. Sequence b gets up to maxNew tokens and stops after stopToken (>= 0,
     * included); the batch steps until every sequence has stopped. Greedy, row b holds the tokens
     * {@link #generate(int[], int, Sampler, int, IntConsumer)} gives prompts[b] alone wherever the
     * backend's batched step computes each row as its one-sequence step does (the CPU's does);
     * sampling draws one number per row per step, row after row.
     */
    public int[][] generate(int[][] prompts, int maxNew, Sampler sampler, int stopToken) {
        if (prompts.length == 0) throw new IllegalArgumentException("no prompts");
        for (int b = 0; b < prompts.length; b++)
            if (prompts[b].length == 0) throw new IllegalArgumentException("prompt " + (b + 1) + " has no tokens");
        if (maxNew < 0) throw new IllegalArgumentException("max-new must be >= 0");
        int batch = prompts.length;
        int[][] out = new int[batch][];
        if (maxNew == 0) {
            Arrays.setAll(out, b -> new int[0]);
            return out;
        }
        Backend backend = model.backend();
        MambaState state = model.newState(batch);
        Tensor last = backend.allocate(batch, model.config().hiddenSize());
        // a prompt given as the same array for several rows (continuations of one clip) is read once
        IdentityHashMap<int[], Integer> read = new IdentityHashMap<>();
        for (int b = 0; b < batch; b++) {
            Integer first = read.putIfAbsent(prompts[b], b);
            if (first != null) {
                state.copySequence(backend, b, state, first);
                backend.copy(last.rows(b, b + 1), last.rows(first, first + 1));
                continue;
            }
            MambaState one = model.newState(1);
            Tensor hidden = model.backbone(prompts[b], 1, prompts[b].length, one, null);
            backend.copy(last.rows(b, b + 1), hidden.rows(prompts[b].length - 1, prompts[b].length));
            backend.release(hidden);
            state.copySequence(backend, b, one, 0);
            one.release(backend);
        }
        Tensor logits = model.logits(last);
        backend.release(last);
        int[] next = sampler.sample(backend, logits);
        backend.release(logits);
        int[][] made = new int[batch][maxNew];
        int[] produced = new int[batch];
        int running = batch;
        try (Decoder decoder = new Decoder(model, state, next.clone(), sampler)) {
            while (true) {
                for (int b = 0; b < batch; b++) {
                    // a stopped sequence keeps stepping with the batch; what it makes is dropped
                    if (produced[b] < 0) continue;
                    made[b][produced[b]++] = next[b];
                    if (next[b] == stopToken || produced[b] == maxNew) {
                        out[b] = Arrays.copyOf(made[b], produced[b]);
                        produced[b] = -1;
                        running--;
                    }
                }
                if (running == 0) break;
                next = decoder.step();
            }
        }
        state.release(backend);
        return out;
    }

    /**
     * One recurrent step after another for a batch of sequences: each {@link #step} feeds the
     * current token of every sequence through the model, continuing the state, and replaces it by
     * the sampled next one. Where the backend has a fused step ({@link MambaModel#decodeStep}: the
     * CPU, CUDA for Mamba-1) that step runs, and the state is written back by
     * {@link #close}; otherwise the step is recorded on the first call where the backend records
     * (the same work as the plain step, so the same tokens), and run as is elsewhere.
     */
    public static final class Decoder implements AutoCloseable {
        private final MambaModel model;
        private final Backend backend;
        private final MambaState state;
        private final int[] tokens;
        private final Sampler sampler;
        private final Tensor logits;
        private final Runnable body;
        private final boolean record;
        private final Backend.DecodeStep fused;
        private Backend.Replay replay;
        private boolean tried;

        /** tokens: the current token of each sequence (the array is kept and updated in place). */
        public Decoder(MambaModel model, MambaState state, int[] tokens, Sampler sampler) {
            this(model, state, tokens, sampler, true);
        }

        /** record false: neither fuses nor records, every step runs operation by operation (for comparisons). */
        public Decoder(MambaModel model, MambaState state, int[] tokens, Sampler sampler, boolean record) {
            this(model, state, tokens, sampler, record, record);
        }

        /** fuse false with record true: the op-by-op step, recorded (for comparisons with the fused one). */
        public Decoder(MambaModel model, MambaState state, int[] tokens, Sampler sampler, boolean record, boolean fuse) {
            if (state.batch() != tokens.length)
                throw new IllegalArgumentException(tokens.length + " tokens for a state of " + state.batch() + " sequences");
            this.model = model;
            this.backend = model.backend();
            this.state = state;
            this.tokens = tokens;
            this.sampler = sampler;
            this.record = record;
            this.logits = backend.allocate(tokens.length, model.config().paddedVocabSize());
            this.body = () -> {
                Tensor h = model.backbone(tokens, tokens.length, 1, state, null);
                model.logits(h, logits);
                backend.release(h);
            };
            this.fused = fuse ? model.decodeStep(state, logits) : null;
        }

        /** Advances every sequence by its current token; returns the next tokens (also the array's new contents). */
        public int[] step() {
            if (fused != null) {
                // greedy: the step picks the tokens itself (CUDA: inside its graph), the sampler draws nothing
                int[] next = sampler.greedy() ? fused.stepGreedy(tokens, sampler.vocabSize()) : null;
                if (next == null) fused.step(tokens);
                state.advance(1);
                if (next == null) return sample();
                System.arraycopy(next, 0, tokens, 0, tokens.length);
                return next;
            }
            if (!tried && record) {
                tried = true;
                // recording runs the body's host side once (the state's position moves), queuing nothing
                replay = backend.record(body, tokens);
                if (replay != null) {
                    replay.run();
                    return sample();
                }
            }
            if (replay != null) {
                replay.run();
                state.advance(1);
            } else {
                body.run();
            }
            return sample();
        }

        private int[] sample() {
            int[] next = sampler.sample(backend, logits);
            System.arraycopy(next, 0, tokens, 0, tokens.length);
            return next;
        }

        /** Whether the steps replay a recording. */
        public boolean recorded() {
            return replay != null;
        }

        /** Whether the steps run the backend's fused step. */
        public boolean fused() {
            return fused != null;
        }

        /** The last step's logits (sequences, padded vocab), on the backend. */
        public Tensor logits() {
            return logits;
        }

        @Override
        public void close() {
            if (fused != null) fused.close();
            if (replay != null) replay.close();
            backend.release(logits);
        }
    }
}
