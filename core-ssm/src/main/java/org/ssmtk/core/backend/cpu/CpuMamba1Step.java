package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.tensor.Tensor;

import java.util.function.IntConsumer;

import static org.ssmtk.core.backend.cpu.CpuDecoder.S;
import static org.ssmtk.core.backend.cpu.CpuDecoder.V;

/**
 * Mamba-1's mixer for one token of each sequence (MambaMixer's math at len 1): in_proj as one product into x and z,
 * the conv window ({@link CpuDecoder.ConvWindow}) with SiLU, x_proj as one product into dt_low, B
 * and C, dt_proj, then the selective-scan update and the gate in one pass over the state:
 * <pre>
 *   dt = softplus(dt_pre + dt_bias);  h[s] = exp(dt A[s]) h[s] + dt x B[s];  y = (C . h + D x) silu(z)
 * </pre>
 * and out_proj. SIMD lanes are channels, so B[s] and C[s] are broadcasts; for that the state and
 * A = -exp(A_log) are kept transposed, (d_state, channels), and A is taken once here, not per token.
 * Per-sequence buffers are rows of one array (row b at b times the row's padded width); the
 * products run over all rows at once, the conv and scan a sequence at a time (the sequences over the
 * thread team, or a lone sequence's channels in chunks over it).
 */
final class CpuMamba1Step implements CpuDecoder.LayerStep, IntConsumer {
    private final Parallel par;
    private final int di, dp, n, batch, rankP, bcStride;
    private final float[] x, z, xc, dtLow, b, c, dtPre, dt, y;
    private final float[] dtBias, dSkip, aT, h;
    private final CpuDecoder.ConvWindow conv;
    private final MatVec inProj, xProj, dtProj, outProj;
    private final Tensor ssmState;
    /** One sequence's scan split by channels over the team: chunks of chunk channels (1 chunk: not split). */
    private final int chunks, chunk;

    /** in, out: the decoder's rows of stride hiddenStride; copies: where the fp32 weights are copied (see MatVec). */
    CpuMamba1Step(Parallel par, int batch, DecodePlan.Mamba1 m, float[] in, float[] out, int hiddenStride, HugePages.Copies copies) {
        this.par = par;
        this.batch = batch;
        di = m.inX().dim(0);
        dp = CpuDecoder.padded(di);
        n = m.aLog().cols();
        x = new float[batch * dp];
        z = new float[batch * dp];
        xc = new float[batch * dp];
        y = new float[batch * dp];
        dtPre = new float[batch * dp];
        dt = new float[batch * dp];
        inProj = new MatVec(par, batch, in, hiddenStride, new Tensor[]{m.inX(), m.inZ()}, new Tensor[]{m.inBiasX(), m.inBiasZ()},
                new float[][]{x, z}, new int[2], new int[]{dp, dp}, copies);
        conv = new CpuDecoder.ConvWindow(m.conv(), m.convBias(), m.convState(), batch);
        if (m.xProjDt() != null) {
            int rank = m.xProjDt().dim(0);
            rankP = CpuDecoder.padded(rank);
            bcStride = n;
            dtLow = new float[batch * rankP];
            b = new float[batch * n];
            c = new float[batch * n];
            xProj = new MatVec(par, batch, xc, dp, new Tensor[]{m.xProjDt(), m.xProjB(), m.xProjC()}, new Tensor[3],
                    new float[][]{dtLow, b, c}, new int[3], new int[]{rankP, n, n}, copies);
            dtProj = new MatVec(par, batch, dtLow, rankP, new Tensor[]{m.dtWeight()}, new Tensor[1], new float[][]{dtPre}, new int[1],
                    new int[]{dp}, copies);
        } else { // the non-selective ablation: constant B and C (one row, shared), dt = softplus(dt_bias)
            rankP = 0;
            bcStride = 0;
            dtLow = null;
            b = CpuDecoder.paddedCopy(m.bConst(), n);
            c = CpuDecoder.paddedCopy(m.cConst(), n);
            xProj = dtProj = null;
        }
        outProj = new MatVec(par, batch, y, dp, new Tensor[]{m.out()}, new Tensor[]{m.outBias()}, new float[][]{out}, new int[1],
                new int[]{hiddenStride}, copies);
        dtBias = CpuDecoder.paddedCopy(m.dtBias(), di);
        dSkip = CpuDecoder.paddedCopy(m.d(), di);
        float[] aLog = CpuBackend.data(m.aLog()), state = CpuBackend.data(m.ssmState());
        int ao = CpuBackend.off(m.aLog()), so = CpuBackend.off(m.ssmState());
        if (m.ssmState().size() != (long) batch * di * n) throw new IllegalArgumentException("ssm state " + m.ssmState() + " for " + m.aLog());
        ssmState = m.ssmState();
        // one sequence's scan is 590 K states a token on the 130M shape, an exp each (8% of a two-thread
        // step in a profile, the other thread idle): split it where each part still has several vectors' work
        int parts = batch == 1 && par.threads() > 1 ? Math.max(1, Math.min(par.threads(), dp / (4 * V))) : 1;
        chunk = (dp / V + parts - 1) / parts * V;
        chunks = parts > 1 ? (dp + chunk - 1) / chunk : 1;
        aT = new float[n * dp];
        h = new float[batch * n * dp];
        for (int ch = 0; ch < di; ch++)
            for (int s = 0; s < n; s++) aT[s * dp + ch] = (float) -Math.exp(aLog[ao + ch * n + s]); // CpuBackend.negExp's arithmetic
        for (int q = 0; q < batch; q++)
            for (int ch = 0; ch < di; ch++)
                for (int s = 0; s < n; s++) h[q * n * dp + s * dp + ch] = state[so + (q * di + ch) * n + s];
    }

    @Override
    public void step() {
        inProj.run();
        if (batch == 1) conv.step(0, x, 0, xc, 0);
        else for (int q = 0; q < batch; q++) conv.step(q, x, q * dp, xc, q * dp);
        conv.advance();
        if (xProj != null) {
            xProj.run();
            dtProj.run();
        }
        if (batch == 1 && chunks > 1) par.forEach(chunks, this);
        else if (batch == 1) scan(0);
        else if (par.threads() > 1) par.forEach(batch, this);
        else for (int q = 0; q < batch; q++) scan(q);
        outProj.run();
    }

    /** Sequence q's scan, or with one sequence, channel chunk q of its scan: a task of the thread team. */
    @Override
    public void accept(int q) {
        if (batch == 1 && chunks > 1) scan(0, q * chunk, Math.min(dp, (q + 1) * chunk));
        else scan(q);
    }

    /*
     * The scan in loops over the channels, each in its own method with one of VectorMath's
     * polynomials: as one method, C2 stopped inlining at its node budget (NodeCountInliningCutoff)
     * and called exp out of line, boxing two vectors per call (216 bytes for every channel vector
     * and state: 0.9 MB per token for the DNA shape). softplus's two loops shared one method until
     * 2026-12-01, when C2 left its log1p out of line there (590 KB a 130M step; -XX:+PrintInlining
     * shows it); each in its own method, 0 bytes for the DNA and 130M shapes. Which calls C2
     * inlines also depends on what it compiled first (an earlier split of timeSteps sent update's
     * exp out of line), so measure allocated bytes per step (DecodeBatchBench prints them) before
     * reshaping these loops.
     */
    private void scan(int q) {
        scan(q, 0, dp);
    }

    /** Channels [c0, c1) (multiples of V, or dp) of sequence q: every channel's arithmetic is the same whichever task runs it. */
    private void scan(int q, int c0, int c1) {
        int o = q * dp;
        timeSteps(o, c0, c1);
        update(o, q * n * dp, q * bcStride, c0, c1);
        gate(o, c0, c1);
    }

    /**
     * dt = softplus(dt_pre + dt_bias) into dt (dtPre stays: the ablation sets it once), dt x into y:
     * VectorMath.softplus's arithmetic, its exp and its log1p in loops of their own methods. o: the
     * sequence's row.
     */
    private void timeSteps(int o, int c0, int c1) {
        softplusExp(o, c0, c1);
        softplusLog(o, c0, c1);
    }

    /** dt = dt_pre + dt_bias, y = exp(-|dt|). */
    private void softplusExp(int o, int c0, int c1) {
        for (int ch = c0; ch < c1; ch += V) {
            FloatVector pre = FloatVector.fromArray(S, dtPre, o + ch).add(FloatVector.fromArray(S, dtBias, ch));
            pre.intoArray(dt, o + ch);
            VectorMath.exp(pre.abs().neg()).intoArray(y, o + ch);
        }
    }

    /** dt = max(dt, 0) + log1p(y), y = dt x. */
    private void softplusLog(int o, int c0, int c1) {
        for (int ch = c0; ch < c1; ch += V) {
            FloatVector d = FloatVector.fromArray(S, dt, o + ch).max(0f).add(VectorMath.log1p(FloatVector.fromArray(S, y, o + ch)));
            d.intoArray(dt, o + ch);
            d.mul(FloatVector.fromArray(S, xc, o + ch)).intoArray(y, o + ch);
        }
    }

    /** h[s] = exp(dt A[s]) h[s] + dt x B[s]; y = C . h (y held dt x on entry). o, ho, bo: the sequence's rows. */
    private void update(int o, int ho, int bo, int c0, int c1) {
        for (int ch = c0; ch < c1; ch += V) {
            FloatVector dtv = FloatVector.fromArray(S, dt, o + ch), dtu = FloatVector.fromArray(S, y, o + ch);
            FloatVector acc = FloatVector.zero(S);
            for (int s = 0; s < n; s++) {
                int at = s * dp + ch;
                FloatVector dA = VectorMath.expNonPositive(dtv.mul(FloatVector.fromArray(S, aT, at)));
                FloatVector hs = dA.mul(FloatVector.fromArray(S, h, ho + at)).add(dtu.mul(b[bo + s]));
                hs.intoArray(h, ho + at);
                acc = hs.fma(FloatVector.broadcast(S, c[bo + s]), acc);
            }
            acc.intoArray(y, o + ch);
        }
    }

    /** y = (y + D x) silu(z). */
    private void gate(int o, int c0, int c1) {
        for (int ch = c0; ch < c1; ch += V) {
            FloatVector acc = FloatVector.fromArray(S, dSkip, ch).fma(FloatVector.fromArray(S, xc, o + ch), FloatVector.fromArray(S, y, o + ch));
            FloatVector zv = FloatVector.fromArray(S, z, o + ch);
            acc.mul(zv.mul(VectorMath.sigmoid(zv))).intoArray(y, o + ch);
        }
    }

    @Override
    public void reset(int q) {
        conv.reset(q);
        java.util.Arrays.fill(h, q * n * dp, (q + 1) * n * dp, 0f);
    }

    @Override
    public void writeBack() {
        conv.writeBack();
        float[] state = CpuBackend.data(ssmState);
        int so = CpuBackend.off(ssmState);
        for (int q = 0; q < batch; q++)
            for (int ch = 0; ch < di; ch++)
                for (int s = 0; s < n; s++) state[so + (q * di + ch) * n + s] = h[q * n * dp + s * dp + ch];
    }
}
