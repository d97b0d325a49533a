package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.backend.SsdShape;
import org.ssmtk.core.tensor.Tensor;

import static org.ssmtk.core.backend.cpu.CpuDecoder.S;
import static org.ssmtk.core.backend.cpu.CpuDecoder.V;

/**
 * Mamba-2's mixer for one token (Mamba2Mixer's math at len 1): in_proj as one product into z, x,
 * B, C and dt, the three conv windows with SiLU, then per head one pass over its state,
 * <pre>
 *   dt = clamp(softplus(dt_pre + dt_bias));  H[s] = exp(dt A) H[s] + dt B[s] x;  y = sum_s C[s] H[s] + D x
 * </pre>
 * (H[s] a vector along head_dim), the gated RMSNorm and out_proj. The state is kept (heads, d_state,
 * head_dim) so that lanes run along head_dim with B[s] and C[s] as broadcasts.
 */
final class CpuMamba2Step implements CpuDecoder.LayerStep {
    private final int di, heads, p, ns, headsPerGroup, normGroup;
    private final float eps, dtMin, dtMax;
    private final float[] z, xPre, bPre, cPre, dtPre, x, b, c, y, gated, dtB;
    private final float[] a, dSkip, dtBias, gateNorm;
    private final int gateNormOff;
    private final double[] gate;
    private final float[] h;
    private final CpuDecoder.ConvWindow convX, convB, convC;
    private final MatVec inProj, outProj;
    private final Tensor ssmState;

    CpuMamba2Step(Parallel par, DecodePlan.Mamba2 m, float eps, float[] in, float[] out) {
        SsdShape sh = m.shape();
        di = sh.channels();
        heads = sh.heads();
        p = sh.headDim();
        ns = sh.stateSize();
        headsPerGroup = sh.headsPerGroup();
        normGroup = m.normGroup();
        this.eps = eps;
        dtMin = sh.dtMin();
        dtMax = sh.dtMax();
        int gn = sh.groupStates();
        z = new float[CpuDecoder.padded(di)];
        xPre = new float[CpuDecoder.padded(di)];
        x = new float[CpuDecoder.padded(di)];
        y = new float[CpuDecoder.padded(di)];
        gated = new float[CpuDecoder.padded(di)];
        bPre = new float[CpuDecoder.padded(gn)];
        cPre = new float[CpuDecoder.padded(gn)];
        b = new float[CpuDecoder.padded(gn)];
        c = new float[CpuDecoder.padded(gn)];
        dtPre = new float[heads];
        dtB = new float[ns];
        gate = new double[normGroup];
        inProj = new MatVec(par, in, new Tensor[]{m.inZ(), m.inX(), m.inB(), m.inC(), m.inDt()},
                new Tensor[]{m.inBiasZ(), m.inBiasX(), m.inBiasB(), m.inBiasC(), m.inBiasDt()},
                new float[][]{z, xPre, bPre, cPre, dtPre}, new int[5]);
        convX = new CpuDecoder.ConvWindow(m.convX(), m.convBiasX(), m.convStateX());
        convB = new CpuDecoder.ConvWindow(m.convB(), m.convBiasB(), m.convStateB());
        convC = new CpuDecoder.ConvWindow(m.convC(), m.convBiasC(), m.convStateC());
        outProj = new MatVec(par, gated, new Tensor[]{m.out()}, new Tensor[]{m.outBias()}, new float[][]{out}, new int[1]);
        a = new float[heads];
        float[] aLog = CpuBackend.data(m.aLog());
        for (int i = 0; i < heads; i++) a[i] = (float) -Math.exp(aLog[CpuBackend.off(m.aLog()) + i]); // as negExp
        dSkip = CpuDecoder.paddedCopy(m.d(), heads);
        dtBias = CpuDecoder.paddedCopy(m.dtBias(), heads);
        gateNorm = CpuBackend.data(m.gateNorm());
        gateNormOff = CpuBackend.off(m.gateNorm());
        if (m.ssmState().size() != (long) heads * p * ns) throw new IllegalArgumentException("ssm state " + m.ssmState() + " for " + sh);
        ssmState = m.ssmState();
        h = new float[heads * ns * p];
        float[] state = CpuBackend.data(ssmState);
        int so = CpuBackend.off(ssmState);
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < p; i++)
                for (int s = 0; s < ns; s++) h[(hd * ns + s) * p + i] = state[so + (hd * p + i) * ns + s];
    }

    @Override
    public void step() {
        inProj.run();
        convX.step(xPre, x);
        convB.step(bPre, b);
        convC.step(cPre, c);
        for (int hd = 0; hd < heads; hd++) head(hd);
        gatedNorm();
        outProj.run();
    }

    /** One head's state update and output y[hd * p, +p). */
    private void head(int hd) {
        float dt = Math.min(Math.max(CpuSsd.softplus(dtPre[hd] + dtBias[hd]), dtMin), dtMax);
        float decay = (float) Math.exp((double) dt * a[hd]); // CpuSsd's exp(dt A), taken in double
        int g0 = hd / headsPerGroup * ns, x0 = hd * p, h0 = hd * ns * p;
        for (int s = 0; s < ns; s++) dtB[s] = dt * b[g0 + s];
        FloatVector dA = FloatVector.broadcast(S, decay);
        int i = 0;
        for (; i + V <= p; i += V) {
            FloatVector xv = FloatVector.fromArray(S, x, x0 + i);
            FloatVector acc = FloatVector.zero(S);
            for (int s = 0; s < ns; s++) {
                int at = h0 + s * p + i;
                FloatVector hs = dA.mul(FloatVector.fromArray(S, h, at)).add(xv.mul(dtB[s]));
                hs.intoArray(h, at);
                acc = hs.fma(FloatVector.broadcast(S, c[g0 + s]), acc);
            }
            FloatVector.broadcast(S, dSkip[hd]).fma(xv, acc).intoArray(y, x0 + i);
        }
        for (; i < p; i++) { // head_dim not a whole number of vectors
            float xv = x[x0 + i], acc = 0f;
            for (int s = 0; s < ns; s++) {
                int at = h0 + s * p + i;
                float hs = decay * h[at] + xv * dtB[s];
                h[at] = hs;
                acc += hs * c[g0 + s];
            }
            y[x0 + i] = dSkip[hd] * xv + acc;
        }
    }

    /** CpuGatedRmsNorm.forward's arithmetic (in double) on one row, without its per-call scratch. */
    private void gatedNorm() {
        for (int g0 = 0; g0 < di; g0 += normGroup) {
            double ss = 0;
            for (int i = 0; i < normGroup; i++) {
                double zv = z[g0 + i];
                double v = y[g0 + i] * (zv / (1 + Math.exp(-zv)));
                gate[i] = v;
                ss += v * v;
            }
            double inv = 1 / Math.sqrt(ss / normGroup + eps);
            for (int i = 0; i < normGroup; i++) gated[g0 + i] = (float) (gateNorm[gateNormOff + g0 + i] * (gate[i] * inv));
        }
    }

    @Override
    public void writeBack() {
        convX.writeBack();
        convB.writeBack();
        convC.writeBack();
        float[] state = CpuBackend.data(ssmState);
        int so = CpuBackend.off(ssmState);
        for (int hd = 0; hd < heads; hd++)
            for (int i = 0; i < p; i++)
                for (int s = 0; s < ns; s++) state[so + (hd * p + i) * ns + s] = h[(hd * ns + s) * p + i];
    }
}
