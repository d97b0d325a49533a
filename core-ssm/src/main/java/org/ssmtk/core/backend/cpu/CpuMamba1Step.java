package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.tensor.Tensor;

import static org.ssmtk.core.backend.cpu.CpuDecoder.S;
import static org.ssmtk.core.backend.cpu.CpuDecoder.V;

/**
 * Mamba-1's mixer for one token (MambaMixer's math at len 1): in_proj as one product into x and z,
 * the conv window ({@link CpuDecoder.ConvWindow}) with SiLU, x_proj as one product into dt_low, B
 * and C, dt_proj, then the selective-scan update and the gate in one pass over the state:
 * <pre>
 *   dt = softplus(dt_pre + dt_bias);  h[s] = exp(dt A[s]) h[s] + dt x B[s];  y = (C . h + D x) silu(z)
 * </pre>
 * and out_proj. SIMD lanes are channels, so B[s] and C[s] are broadcasts; for that the state and
 * A = -exp(A_log) are kept transposed, (d_state, channels), and A is taken once here, not per token.
 */
final class CpuMamba1Step implements CpuDecoder.LayerStep {
    private final int di, dp, n;
    private final float[] x, z, xc, dtLow, b, c, dtPre, dt, y;
    private final float[] dtBias, dSkip, aT, h;
    private final CpuDecoder.ConvWindow conv;
    private final MatVec inProj, xProj, dtProj, outProj;
    private final Tensor ssmState;

    CpuMamba1Step(Parallel par, DecodePlan.Mamba1 m, float[] in, float[] out) {
        di = m.inX().dim(0);
        dp = CpuDecoder.padded(di);
        n = m.aLog().cols();
        x = new float[dp];
        z = new float[dp];
        xc = new float[dp];
        y = new float[dp];
        dtPre = new float[dp];
        dt = new float[dp];
        inProj = new MatVec(par, in, new Tensor[]{m.inX(), m.inZ()}, new Tensor[]{m.inBiasX(), m.inBiasZ()},
                new float[][]{x, z}, new int[2]);
        conv = new CpuDecoder.ConvWindow(m.conv(), m.convBias(), m.convState());
        if (m.xProjDt() != null) {
            int rank = m.xProjDt().dim(0);
            dtLow = new float[CpuDecoder.padded(rank)];
            b = new float[n];
            c = new float[n];
            xProj = new MatVec(par, xc, new Tensor[]{m.xProjDt(), m.xProjB(), m.xProjC()}, new Tensor[3],
                    new float[][]{dtLow, b, c}, new int[3]);
            dtProj = new MatVec(par, dtLow, new Tensor[]{m.dtWeight()}, new Tensor[1], new float[][]{dtPre}, new int[1]);
        } else { // the non-selective ablation: constant B and C, dt = softplus(dt_bias)
            dtLow = null;
            b = CpuDecoder.paddedCopy(m.bConst(), n);
            c = CpuDecoder.paddedCopy(m.cConst(), n);
            xProj = dtProj = null;
        }
        outProj = new MatVec(par, y, new Tensor[]{m.out()}, new Tensor[]{m.outBias()}, new float[][]{out}, new int[1]);
        dtBias = CpuDecoder.paddedCopy(m.dtBias(), di);
        dSkip = CpuDecoder.paddedCopy(m.d(), di);
        float[] aLog = CpuBackend.data(m.aLog()), state = CpuBackend.data(m.ssmState());
        int ao = CpuBackend.off(m.aLog()), so = CpuBackend.off(m.ssmState());
        if (m.ssmState().size() != (long) di * n) throw new IllegalArgumentException("ssm state " + m.ssmState() + " for " + m.aLog());
        ssmState = m.ssmState();
        aT = new float[n * dp];
        h = new float[n * dp];
        for (int ch = 0; ch < di; ch++)
            for (int s = 0; s < n; s++) {
                aT[s * dp + ch] = (float) -Math.exp(aLog[ao + ch * n + s]); // CpuBackend.negExp's arithmetic
                h[s * dp + ch] = state[so + ch * n + s];
            }
    }

    @Override
    public void step() {
        inProj.run();
        conv.step(x, xc);
        if (xProj != null) {
            xProj.run();
            dtProj.run();
        }
        scan();
        outProj.run();
    }

    /*
     * The scan in three loops over the channels, each its own method with one of VectorMath's
     * polynomials: as one method, C2 stopped inlining at its node budget (NodeCountInliningCutoff)
     * and called exp out of line, boxing two vectors per call (216 bytes for every channel vector
     * and state: 0.9 MB per token for the DNA shape; 48 KB remain, from a call left out of line in
     * timeSteps). Which calls C2 inlines also depends on what it compiled first: splitting
     * timeSteps in two methods made update's exp go out of line again (0.77 MB), so measure
     * (ThreadMXBean allocated bytes per step) before reshaping these loops.
     */
    private void scan() {
        timeSteps();
        update();
        gate();
    }

    /**
     * dt = softplus(dt_pre + dt_bias) into dt (dtPre stays: the ablation sets it once), dt x into y: VectorMath.softplus's arithmetic,
     * its exp and its log1p in separate loops (together they too exceed C2's node budget).
     */
    private void timeSteps() {
        for (int ch = 0; ch < dp; ch += V) {
            FloatVector pre = FloatVector.fromArray(S, dtPre, ch).add(FloatVector.fromArray(S, dtBias, ch));
            pre.intoArray(dt, ch);
            VectorMath.exp(pre.abs().neg()).intoArray(y, ch);
        }
        for (int ch = 0; ch < dp; ch += V) {
            FloatVector d = FloatVector.fromArray(S, dt, ch).max(0f).add(VectorMath.log1p(FloatVector.fromArray(S, y, ch)));
            d.intoArray(dt, ch);
            d.mul(FloatVector.fromArray(S, xc, ch)).intoArray(y, ch);
        }
    }

    /** h[s] = exp(dt A[s]) h[s] + dt x B[s]; y = C . h (y held dt x on entry). */
    private void update() {
        for (int ch = 0; ch < dp; ch += V) {
            FloatVector dtv = FloatVector.fromArray(S, dt, ch), dtu = FloatVector.fromArray(S, y, ch);
            FloatVector acc = FloatVector.zero(S);
            for (int s = 0; s < n; s++) {
                int at = s * dp + ch;
                FloatVector dA = VectorMath.expNonPositive(dtv.mul(FloatVector.fromArray(S, aT, at)));
                FloatVector hs = dA.mul(FloatVector.fromArray(S, h, at)).add(dtu.mul(b[s]));
                hs.intoArray(h, at);
                acc = hs.fma(FloatVector.broadcast(S, c[s]), acc);
            }
            acc.intoArray(y, ch);
        }
    }

    /** y = (y + D x) silu(z). */
    private void gate() {
        for (int ch = 0; ch < dp; ch += V) {
            FloatVector acc = FloatVector.fromArray(S, dSkip, ch).fma(FloatVector.fromArray(S, xc, ch), FloatVector.fromArray(S, y, ch));
            FloatVector zv = FloatVector.fromArray(S, z, ch);
            acc.mul(zv.mul(VectorMath.sigmoid(zv))).intoArray(y, ch);
        }
    }

    @Override
    public void writeBack() {
        conv.writeBack();
        float[] state = CpuBackend.data(ssmState);
        int so = CpuBackend.off(ssmState);
        for (int ch = 0; ch < di; ch++)
            for (int s = 0; s < n; s++) state[so + ch * n + s] = h[s * dp + ch];
    }
}
