package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.CaduceusSettings;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.Tensor;

/**
 * Caduceus' BiMamba mixer: a Mamba-1 mixer reads the sequence forward, a second one reads it
 * reversed, and its output, reversed back, is added to (or multiplied element-wise with) the first:
 * <pre>
 *   out = mamba_fwd(x)  +  flip(mamba_rev(flip(x)))       (bidirectional_strategy add)
 *   out = mamba_fwd(x)  *  flip(mamba_rev(flip(x)))       (ew_multiply)
 * </pre>
 * flip reverses positions within each sequence. With bidirectional_weight_tie the two share
 * in_proj and out_proj (their {@link MambaMixer.Weights} hold the same tensors, so both backward
 * passes accumulate into the same gradients). Without {@code bidirectional} it is mamba_fwd alone.
 * Each direction is an unchanged {@link MambaMixer}; this class only flips and combines.
 */
final class BiMambaMixer implements Mixer {

    /** The forward mixer's tensors and the reverse one's (null when not bidirectional). */
    record Weights(MambaMixer.Weights fwd, MambaMixer.Weights rev) implements Mixer.Weights {}

    /**
     * The two directions' activations (one shared set for inference), the reversed input, the
     * forward output and the reverse output flipped back (kept for ew_multiply's backward), and
     * the reverse mixer's output in its own order.
     */
    record Activations(Mixer.Activations fwd, Mixer.Activations rev, Tensor reversedIn, Tensor outFwd,
                       Tensor outRev, Tensor outRevReversed) implements Mixer.Activations {
        @Override
        public Tensor[] tensors() {
            java.util.List<Tensor> all = new java.util.ArrayList<>(java.util.Arrays.asList(fwd.tensors()));
            if (rev != null && rev != fwd) all.addAll(java.util.Arrays.asList(rev.tensors()));
            all.addAll(java.util.Arrays.asList(reversedIn, outFwd, outRev, outRevReversed));
            return all.toArray(Tensor[]::new);
        }
    }

    /** The directions' shared scratch; gradients of the two outputs; two reversal buffers. */
    record BackwardScratch(Mixer.BackwardScratch inner, Tensor dOutFwd, Tensor dOutRev, Tensor dReversed,
                           Tensor dReversedIn) implements Mixer.BackwardScratch {
        @Override
        public Tensor[] tensors() {
            java.util.List<Tensor> all = new java.util.ArrayList<>(java.util.Arrays.asList(inner.tensors()));
            all.addAll(java.util.Arrays.asList(dOutFwd, dOutRev, dReversed, dReversedIn));
            return all.toArray(Tensor[]::new);
        }
    }

    private final Backend backend;
    private final MambaConfig config;
    private final MambaMixer fwd, rev;
    private final boolean multiply;

    BiMambaMixer(Backend backend, MambaConfig config, Weights w) {
        this.backend = backend;
        this.config = config;
        this.fwd = new MambaMixer(backend, config, w.fwd());
        this.rev = w.rev() == null ? null : new MambaMixer(backend, config, w.rev());
        this.multiply = CaduceusSettings.EW_MULTIPLY.equals(config.caduceus().strategy());
    }

    @Override
    public Activations newActivations(int batch, int len, boolean training) {
        int rows = batch * len, h = config.hiddenSize();
        Mixer.Activations f = fwd.newActivations(batch, len, training);
        if (rev == null) return new Activations(f, null, null, null, null, null);
        // inference runs the directions one after the other, so they can share one set of buffers
        Mixer.Activations r = training ? rev.newActivations(batch, len, true) : f;
        return new Activations(f, r, backend.allocate(rows, h), backend.allocate(rows, h), backend.allocate(rows, h),
                backend.allocate(rows, h));
    }

    @Override
    public void forward(Tensor out, Tensor in, int batch, int len, Mixer.Activations activations, Mixer.State state) {
        Activations a = (Activations) activations;
        if (rev == null) {
            fwd.forward(out, in, batch, len, a.fwd(), state);
            return;
        }
        if (state != null)
            throw new IllegalArgumentException("a bidirectional mixer reads whole sequences; it takes no state");
        // A backward that recomputes activations (out == null) needs the outputs only to multiply.
        boolean outputs = out != null || multiply;
        backend.reverseSequences(a.reversedIn(), in, batch, len, false);
        rev.forward(outputs ? a.outRevReversed() : null, a.reversedIn(), batch, len, a.rev(), null);
        if (outputs) backend.reverseSequences(a.outRev(), a.outRevReversed(), batch, len, false);
        fwd.forward(outputs ? a.outFwd() : null, in, batch, len, a.fwd(), null); // in is dead after this: out may be in
        if (out == null) return;
        if (multiply) {
            backend.fill(out, 0f);
            backend.addProduct(out, a.outFwd(), a.outRev());
        } else {
            backend.add(out, a.outFwd(), a.outRev());
        }
    }

    @Override
    public BackwardScratch newBackwardScratch(int batch, int len) {
        int rows = batch * len, h = config.hiddenSize();
        Mixer.BackwardScratch inner = fwd.newBackwardScratch(batch, len);
        if (rev == null) return new BackwardScratch(inner, null, null, null, null);
        return new BackwardScratch(inner, backend.allocate(rows, h), backend.allocate(rows, h), backend.allocate(rows, h),
                backend.allocate(rows, h));
    }

    @Override
    public void backward(Tensor dIn, Tensor dOut, Tensor in, int batch, int len, Mixer.Activations activations,
                         Mixer.Weights gradients, Mixer.BackwardScratch scratch) {
        Activations a = (Activations) activations;
        Weights g = (Weights) gradients;
        BackwardScratch d = (BackwardScratch) scratch;
        if (rev == null) {
            fwd.backward(dIn, dOut, in, batch, len, a.fwd(), g.fwd(), d.inner());
            return;
        }
        Tensor dFwd = dOut, dRev = dOut;
        if (multiply) { // out = f * r: df = dOut * r, dr = dOut * f
            backend.fill(d.dOutFwd(), 0f);
            backend.addProduct(d.dOutFwd(), dOut, a.outRev());
            backend.fill(d.dOutRev(), 0f);
            backend.addProduct(d.dOutRev(), dOut, a.outFwd());
            dFwd = d.dOutFwd();
            dRev = d.dOutRev();
        }
        fwd.backward(dIn, dFwd, in, batch, len, a.fwd(), g.fwd(), d.inner());
        // the reverse direction ran on flip(in) and its output was flipped: flip the gradient in and out
        backend.reverseSequences(d.dReversed(), dRev, batch, len, false);
        backend.fill(d.dReversedIn(), 0f);
        rev.backward(d.dReversedIn(), d.dReversed(), a.reversedIn(), batch, len, a.rev(), g.rev(), d.inner());
        backend.reverseSequences(d.dReversed(), d.dReversedIn(), batch, len, false);
        backend.add(dIn, dIn, d.dReversed());
    }

    @Override
    public Mixer.State newState(int batch) {
        if (rev == null) return fwd.newState(batch);
        throw new IllegalArgumentException("a bidirectional Caduceus reads whole sequences and keeps no recurrent state:"
                + " it cannot stream a sequence in pieces or generate");
    }

    @Override
    public long activationBytesPerToken() {
        long one = fwd.activationBytesPerToken();
        return rev == null ? one : one + (long) Float.BYTES * 4L * config.hiddenSize();
    }
}
