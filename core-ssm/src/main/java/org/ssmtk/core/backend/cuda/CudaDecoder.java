package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

import static org.ssmtk.core.backend.cuda.DeviceMemory.addr;

/**
 * {@link Backend#decodeStep} on the GPU for Mamba-1 stacks: a step in four kernels per layer
 * (decode.cu) instead of about thirteen, recorded once as a CUDA graph and replayed per token, so
 * that a step costs the host one launch and the device about a hundred short kernels that each read
 * their weights once. Up to {@link DecodeKernels#maxBatch} sequences the products are decode.cu's
 * matrix-vector kernels with the RMSNorm folded into in_proj and the conv into its epilogue; for
 * more, they are cuBLAS GEMMs (a weight row then serves many sequences from registers and shared
 * memory) around decode_conv and decode_scan. The state is the model's own, updated in place, so
 * closing writes nothing back. The arithmetic is MambaMixer's at len 1, summed in another order:
 * the same values within float rounding (CudaDecodeStepTest).
 */
final class CudaDecoder implements Backend.DecodeStep {
    private final CudaBackend backend;
    private final DecodeKernels kernels;
    private final ElementwiseKernels elementwise;
    private final Cublas cublas;
    private final DecodePlan plan;
    private final int batch, hidden, vocabRows, di, n, rank, width, dbcCols;
    private final boolean gemm;
    private final int[] ids;
    private final List<Tensor> owned = new ArrayList<>();
    private final Tensor residual, normed, xz, xc, dbc, y, inBias;
    private final Tensor[] aNeg;
    private Backend.Replay replay;
    private boolean tried;

    /**
     * The fused step of plan, or null where it has none: a layer other than Mamba-1, layers of
     * different widths, or more than {@link DecodeKernels#maxBatch} sequences without cuBLAS.
     */
    static CudaDecoder of(CudaBackend backend, DecodeKernels kernels, ElementwiseKernels elementwise, Cublas cublas,
                           DecodePlan plan) {
        int batch = plan.logits().rows2d();
        if (batch < 1 || plan.layers().isEmpty()) return null;
        if (batch > kernels.maxBatch() && cublas == null) return null;
        DecodePlan.Mamba1 first = null;
        for (DecodePlan.Layer l : plan.layers()) {
            if (!(l instanceof DecodePlan.Mamba1 m)) return null;
            if (first == null) first = m;
            else if (m.inX().dim(0) != first.inX().dim(0) || m.aLog().cols() != first.aLog().cols()
                    || m.conv().cols() != first.conv().cols() || (m.xProjDt() == null) != (first.xProjDt() == null)
                    || (m.xProjDt() != null && m.xProjDt().dim(0) != first.xProjDt().dim(0)))
                return null;
        }
        return new CudaDecoder(backend, kernels, elementwise, cublas, plan, batch, first);
    }

    private CudaDecoder(CudaBackend backend, DecodeKernels kernels, ElementwiseKernels elementwise, Cublas cublas,
                        DecodePlan plan, int batch, DecodePlan.Mamba1 first) {
        this.backend = backend;
        this.kernels = kernels;
        this.elementwise = elementwise;
        this.cublas = cublas;
        this.plan = plan;
        this.batch = batch;
        hidden = plan.embeddings().cols();
        vocabRows = plan.embeddings().dim(0);
        di = first.inX().dim(0);
        n = first.aLog().cols();
        width = first.conv().cols();
        rank = first.xProjDt() == null ? 0 : first.xProjDt().dim(0);
        dbcCols = rank == 0 ? 1 : rank + 2 * n;
        gemm = batch > kernels.maxBatch();
        if (plan.logits().cols() != plan.lmHead().dim(0))
            throw new IllegalArgumentException("decode step: logits " + plan.logits() + " for an LM head " + plan.lmHead());
        for (DecodePlan.Layer l : plan.layers()) {
            DecodePlan.Mamba1 m = (DecodePlan.Mamba1) l;
            if (m.convState().size() != (long) batch * (width - 1) * di || m.ssmState().size() != (long) batch * di * n)
                throw new IllegalArgumentException("decode step: states " + m.convState() + ", " + m.ssmState() + " for "
                        + batch + " sequences of " + di + " channels");
        }
        ids = new int[batch];
        residual = own(batch, hidden);
        normed = gemm ? own(batch, hidden) : null;
        xz = own(batch, 2 * di);
        xc = own(batch, di);
        dbc = own(batch, dbcCols);
        y = own(batch, di);
        // in_proj's biases as one row, for the GEMM path to start its product from (rare: Mamba-1 has none by default)
        Tensor bias = null;
        if (gemm) for (DecodePlan.Layer l : plan.layers()) {
            DecodePlan.Mamba1 m = (DecodePlan.Mamba1) l;
            if (m.inBiasX() != null || m.inBiasZ() != null) bias = own(plan.layers().size(), 2 * di);
        }
        inBias = bias;
        aNeg = new Tensor[plan.layers().size()];
        for (int i = 0; i < aNeg.length; i++) {
            DecodePlan.Mamba1 m = (DecodePlan.Mamba1) plan.layers().get(i);
            aNeg[i] = own(di, n);
            backend.negExp(aNeg[i], m.aLog()); // the op-by-op step's arithmetic, once per decoder instead of per token
            if (inBias != null) {
                long at = inBias.offset() + 2L * di * i;
                if (m.inBiasX() != null) backend.copy(new Tensor(inBias.storage(), at, di), m.inBiasX());
                if (m.inBiasZ() != null) backend.copy(new Tensor(inBias.storage(), at + di, di), m.inBiasZ());
            }
        }
    }

    private Tensor own(int... shape) {
        Tensor t = backend.allocate(shape);
        owned.add(t);
        return t;
    }

    @Override
    public void step(int token) {
        step(new int[]{token});
    }

    @Override
    public void step(int[] tokens) {
        if (tokens.length != batch) throw new IllegalArgumentException(tokens.length + " tokens for a step of " + batch + " sequences");
        for (int t : tokens)
            if (t < 0 || t >= vocabRows)
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocabRows + ")");
        System.arraycopy(tokens, 0, ids, 0, batch);
        if (!tried) {
            tried = true;
            replay = backend.record(this::queue, ids);
        }
        if (replay != null) replay.run();
        else queue();
    }

    /** One step's work on the stream; the token ids are read from ids. */
    private void queue() {
        backend.embedding(residual, ids, plan.embeddings());
        for (int i = 0; i < aNeg.length; i++) layer(i, (DecodePlan.Mamba1) plan.layers().get(i));
        long logits = addr(plan.logits());
        int v = plan.logits().cols();
        if (gemm) {
            backend.rmsNorm(normed, residual, plan.normF(), plan.eps());
            cublas.sgemm(Cublas.OP_T, Cublas.OP_N, v, batch, hidden, 1f, addr(plan.lmHead()), hidden, addr(normed), hidden,
                    0f, logits, v);
        } else {
            kernels.normGemv(logits, 0, addr(residual), addr(plan.normF()), plan.eps(), addr(plan.lmHead()),
                    addr(plan.lmHead()), 0, 0, v, v, hidden, batch, 0, 0, 0, 0);
        }
    }

    private void layer(int i, DecodePlan.Mamba1 m) {
        long xzA = addr(xz), xcA = addr(xc), dbcA = addr(dbc), yA = addr(y), res = addr(residual);
        if (gemm) {
            backend.rmsNorm(normed, residual, m.norm(), plan.eps());
            float beta = 0f;
            if (inBias != null) {
                backend.broadcastRows(xz, inBias.rows(i, i + 1));
                beta = 1f;
            }
            product(xzA, 2 * di, addr(normed), hidden, beta, new Tensor[]{m.inX(), m.inZ()});
            kernels.conv(xcA, xzA, 2L * di, addr(m.conv()), addr(m.convBias()), addr(m.convState()), batch, di, width);
            if (rank > 0) product(dbcA, dbcCols, xcA, di, 0f, new Tensor[]{m.xProjDt(), m.xProjB(), m.xProjC()});
        } else {
            kernels.normGemv(xzA, xcA, res, addr(m.norm()), plan.eps(), addr(m.inX()), addr(m.inZ()), addr(m.inBiasX()),
                    addr(m.inBiasZ()), 2 * di, di, hidden, batch, addr(m.conv()), addr(m.convBias()), addr(m.convState()), width);
            if (rank > 0)
                kernels.gemv(dbcA, dbcCols, xcA, addr(m.xProjDt()), addr(m.xProjB()), addr(m.xProjC()), rank, rank + n, 0,
                        dbcCols, di, batch, false);
        }
        if (rank > 0)
            kernels.scan(yA, xcA, xzA + 4L * di, 2L * di, dbcA, dbcCols, dbcA + 4L * rank, dbcCols, dbcA + 4L * (rank + n),
                    dbcCols, addr(m.dtWeight()), addr(m.dtBias()), addr(aNeg[i]), addr(m.d()), addr(m.ssmState()), batch, di, n, rank);
        else // the non-selective ablation: one B and C for every sequence, dt = softplus(dt_bias)
            kernels.scan(yA, xcA, xzA + 4L * di, 2L * di, 0, 0, addr(m.bConst()), 0, addr(m.cConst()), 0, 0,
                    addr(m.dtBias()), addr(aNeg[i]), addr(m.d()), addr(m.ssmState()), batch, di, n, 0);
        if (gemm) {
            // residual += y W^T (+ bias): the residual add is the GEMM's beta
            cublas.sgemm(Cublas.OP_T, Cublas.OP_N, hidden, batch, di, 1f, addr(m.out()), di, yA, di, 1f, res, hidden);
            if (m.outBias() != null) elementwise.addBiasRows(res, addr(m.outBias()), batch, hidden);
        } else {
            kernels.gemv(res, hidden, yA, addr(m.out()), 0, 0, hidden, hidden, addr(m.outBias()), hidden, di, batch, true);
        }
    }

    /**
     * out (batch, ldOut) columns = in (batch, k) [W0; W1; ...]^T (+ beta out) by cuBLAS: one GEMM
     * where the weights are adjacent rows of one matrix (in_proj's and x_proj's views are), one per
     * weight otherwise, each into its columns.
     */
    private void product(long out, int ldOut, long in, int k, float beta, Tensor[] ws) {
        int col = 0;
        for (int j = 0; j < ws.length; ) {
            long w = addr(ws[j]);
            int rows = ws[j].dim(0), end = j + 1;
            while (end < ws.length && addr(ws[end]) == w + 4L * rows * k) rows += ws[end++].dim(0);
            cublas.sgemm(Cublas.OP_T, Cublas.OP_N, rows, batch, k, 1f, w, k, in, k, beta, out + 4L * col, ldOut);
            col += rows;
            j = end;
        }
    }

    @Override
    public void close() {
        if (replay != null) replay.close();
        replay = null;
        for (Tensor t : owned) backend.release(t);
        owned.clear();
    }
}
