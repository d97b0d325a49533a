package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.backend.SsdShape;
import org.ssmtk.core.tensor.Tensor;

import java.util.function.IntConsumer;

import static org.ssmtk.core.backend.cpu.CpuDecoder.S;
import static org.ssmtk.core.backend.cpu.CpuDecoder.V;

/**
 * Mamba-2's mixer for one token (Mamba2Mixer's math at len 1): in_proj as one product into z, x,
 * B, C and dt, the three conv windows with SiLU, then per head one pass over its state,
 * <pre>
 *   dt = clamp(softplus(dt_pre + dt_bias));  H[s] = exp(dt A) H[s] + dt B[s] x;  y = sum_s C[s] H[s] + D x
 * </pre>
 * (H[s] a vector along head_dim), the gated RMSNorm and out_proj. The state is kept (heads, d_state,
 * head_dim) so that lanes run along head_dim with B[s] and C[s] as broadcasts. Per-sequence
 * buffers are rows of one array; the products run over all rows at once, the rest a sequence at a time.
 */
final class CpuMamba2Step implements CpuDecoder.LayerStep, IntConsumer {
    private final Parallel par;
    private final int di, heads, p, ns, headsPerGroup, normGroup, batch, dip, gnp;
    private final float eps, dtMin, dtMax;
    private final float[] z, xPre, bPre, cPre, dtPre, x, b, c, y, gated, dtB;
    private final float[] a, dSkip, dtBias, gateNorm;
    private final int gateNormOff;
    private final double[] gate;
    private final float[] h;
    private final CpuDecoder.ConvWindow convX, convB, convC;
    private final MatVec inProj, outProj;
    private final Tensor ssmState;

    /** in, out: the decoder's rows of stride hiddenStride; copies: where the fp32 weights are copied (see MatVec). */
    CpuMamba2Step(Parallel par, int batch, DecodePlan.Mamba2 m, float eps, float[] in, float[] out, int hiddenStride,
                  HugePages.Copies copies) {
        this.par = par;
        this.batch = batch;
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
        dip = CpuDecoder.padded(di);
        gnp = CpuDecoder.padded(gn);
        z = new float[batch * dip];
        xPre = new float[batch * dip];
        x = new float[batch * dip];
        y = new float[batch * dip];
        gated = new float[batch * dip];
        bPre = new float[batch * gnp];
        cPre = new float[batch * gnp];
        b = new float[batch * gnp];
        c = new float[batch * gnp];
        dtPre = new float[batch * heads];
        dtB = new float[batch * ns];
        gate = new double[batch * normGroup];
        inProj = new MatVec(par, batch, in, hiddenStride, new Tensor[]{m.inZ(), m.inX(), m.inB(), m.inC(), m.inDt()},
                new Tensor[]{m.inBiasZ(), m.inBiasX(), m.inBiasB(), m.inBiasC(), m.inBiasDt()},
                new float[][]{z, xPre, bPre, cPre, dtPre}, new int[5], new int[]{dip, dip, gnp, gnp, heads}, copies);
        convX = new CpuDecoder.ConvWindow(m.convX(), m.convBiasX(), m.convStateX(), batch);
        convB = new CpuDecoder.ConvWindow(m.convB(), m.convBiasB(), m.convStateB(), batch);
        convC = new CpuDecoder.ConvWindow(m.convC(), m.convBiasC(), m.convStateC(), batch);
        outProj = new MatVec(par, batch, gated, dip, new Tensor[]{m.out()}, new Tensor[]{m.outBias()}, new float[][]{out}, new int[1],
                new int[]{hiddenStride}, copies);
        a = new float[heads];
        float[] aLog = CpuBackend.data(m.aLog());
        for (int i = 0; i < heads; i++) a[i] = (float) -Math.exp(aLog[CpuBackend.off(m.aLog()) + i]); // as negExp
        dSkip = CpuDecoder.paddedCopy(m.d(), heads);
        dtBias = CpuDecoder.paddedCopy(m.dtBias(), heads);
        gateNorm = CpuBackend.data(m.gateNorm());
        gateNormOff = CpuBackend.off(m.gateNorm());
        if (m.ssmState().size() != (long) batch * heads * p * ns) throw new IllegalArgumentException("ssm state " + m.ssmState() + " for " + sh);
        ssmState = m.ssmState();
        h = new float[batch * heads * ns * p];
        float[] state = CpuBackend.data(ssmState);
        int so = CpuBackend.off(ssmState);
        for (int q = 0; q < batch; q++)
            for (int hd = 0; hd < heads; hd++)
                for (int i = 0; i < p; i++)
                    for (int s = 0; s < ns; s++) h[q * heads * ns * p + (hd * ns + s) * p + i] = state[so + ((q * heads + hd) * p + i) * ns + s];
    }

    @Override
    public void step() {
        inProj.run();
        if (batch == 1) sequence(0);
        else if (par.threads() > 1) par.forEach(batch, this);
        else for (int q = 0; q < batch; q++) sequence(q);
        convX.advance();
        convB.advance();
        convC.advance();
        outProj.run();
    }

    /** Sequence q's convs, heads and gated norm: a task of the thread team. */
    @Override
    public void accept(int q) {
        sequence(q);
    }

    private void sequence(int q) {
        int xo = q * dip, go = q * gnp;
        convX.step(q, xPre, xo, x, xo);
        convB.step(q, bPre, go, b, go);
        convC.step(q, cPre, go, c, go);
        for (int hd = 0; hd < heads; hd++) head(q, hd);
        gatedNorm(q);
    }

    /** One head's state update and output y[hd * p, +p) of sequence q. */
    private void head(int q, int hd) {
        int dto = q * heads, bo = q * gnp, xo = q * dip, bs = q * ns;
        float dt = Math.min(Math.max(CpuSsd.softplus(dtPre[dto + hd] + dtBias[hd]), dtMin), dtMax);
        float decay = (float) Math.exp((double) dt * a[hd]); // CpuSsd's exp(dt A), taken in double
        int g0 = bo + hd / headsPerGroup * ns, x0 = xo + hd * p, h0 = q * heads * ns * p + hd * ns * p;
        for (int s = 0; s < ns; s++) dtB[bs + s] = dt * b[g0 + s];
        FloatVector dA = FloatVector.broadcast(S, decay);
        int i = 0;
        for (; i + V <= p; i += V) {
            FloatVector xv = FloatVector.fromArray(S, x, x0 + i);
            FloatVector acc = FloatVector.zero(S);
            for (int s = 0; s < ns; s++) {
                int at = h0 + s * p + i;
                FloatVector hs = dA.mul(FloatVector.fromArray(S, h, at)).add(xv.mul(dtB[bs + s]));
                hs.intoArray(h, at);
                acc = hs.fma(FloatVector.broadcast(S, c[g0 + s]), acc);
            }
            FloatVector.broadcast(S, dSkip[hd]).fma(xv, acc).intoArray(y, x0 + i);
        }
        for (; i < p; i++) { // head_dim not a whole number of vectors
            float xv = x[x0 + i], acc = 0f;
            for (int s = 0; s < ns; s++) {
                int at = h0 + s * p + i;
                float hs = decay * h[at] + xv * dtB[bs + s];
                h[at] = hs;
                acc += hs * c[g0 + s];
            }
            y[x0 + i] = dSkip[hd] * xv + acc;
        }
    }

    /** CpuGatedRmsNorm.forward's arithmetic (in double) on sequence q's row, without its per-call scratch. */
    private void gatedNorm(int q) {
        int o = q * dip, go = q * normGroup;
        for (int g0 = 0; g0 < di; g0 += normGroup) {
            double ss = 0;
            for (int i = 0; i < normGroup; i++) {
                double zv = z[o + g0 + i];
                double v = y[o + g0 + i] * (zv / (1 + Math.exp(-zv)));
                gate[go + i] = v;
                ss += v * v;
            }
            double inv = 1 / Math.sqrt(ss / normGroup + eps);
            for (int i = 0; i < normGroup; i++) gated[o + g0 + i] = (float) (gateNorm[gateNormOff + g0 + i] * (gate[go + i] * inv));
        }
    }

    @Override
    public void reset(int q) {
        convX.reset(q);
        convB.reset(q);
        convC.reset(q);
        java.util.Arrays.fill(h, q * heads * ns * p, (q + 1) * heads * ns * p, 0f);
    }

    @Override
    public void writeBack() {
        convX.writeBack();
        convB.writeBack();
        convC.writeBack();
        float[] state = CpuBackend.data(ssmState);
        int so = CpuBackend.off(ssmState);
        for (int q = 0; q < batch; q++)
            for (int hd = 0; hd < heads; hd++)
                for (int i = 0; i < p; i++)
                    for (int s = 0; s < ns; s++) state[so + ((q * heads + hd) * p + i) * ns + s] = h[q * heads * ns * p + (hd * ns + s) * p + i];
    }
}
