package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.backend.Backend;
import jcuda.Pointer;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.backend.TokenSampling;
import org.ssmtk.core.tensor.Tensor;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static org.ssmtk.core.backend.cuda.DeviceMemory.addr;

/**
 * {@link Backend#decodeStep} on the GPU for Mamba-1 stacks, recorded once as a CUDA graph and
 * replayed per token, so that a step costs the host one launch. Up to {@link DecodeKernels#maxBatch}
 * sequences a layer is two kernels of decode.cu (instead of about thirteen): RMSNorm + in_proj +
 * conv + x_proj, then dt_proj + scan + gate + out_proj into the residual, each weight read once. For
 * more sequences in_proj and out_proj are cuBLAS GEMMs (a weight row then serves many sequences),
 * with the conv, x_proj and scan kernels between them. The state is the model's own, updated in
 * place, so closing writes nothing back. The arithmetic is MambaMixer's at len 1, summed in another
 * order: the same values within float rounding (CudaDecodeStepTest).
 */
final class CudaDecoder implements Backend.DecodeStep {
    private final CudaBackend backend;
    private final DecodeKernels kernels;
    private final ElementwiseKernels elementwise;
    private final ReductionKernels reduce;
    private final Cublas cublas;
    private final DecodePlan plan;
    private final int batch, hidden, vocabRows, di, n, rank, width, dbcCols;
    private final boolean gemm;
    private final int[] ids;
    private final List<Tensor> owned = new ArrayList<>();
    private final Tensor residual, normed, xz, xc, dbc, y, inBias;
    /** Per layer (dt_low, B, C) rows that in_proj's kernel adds x_proj into: zeroed at each step's start. */
    private final Tensor dbcLayers;
    private final Tensor[] aNeg;
    private Backend.Replay replay, greedyReplay;
    private boolean tried, greedyTried;
    /** stepGreedy's picks: on the device, then in pinned host memory that the graph copies them to. */
    private Tensor picked;
    private Pointer pinnedPicks;
    private int greedyVocab = -1;

    /**
     * The fused step of plan, or null where it has none: a layer other than Mamba-1, layers of
     * different widths, or more than {@link DecodeKernels#maxBatch} sequences without cuBLAS.
     */
    static CudaDecoder of(CudaBackend backend, DecodeKernels kernels, ElementwiseKernels elementwise, ReductionKernels reduce,
                           Cublas cublas, DecodePlan plan) {
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
        return new CudaDecoder(backend, kernels, elementwise, reduce, cublas, plan, batch, first);
    }

    private CudaDecoder(CudaBackend backend, DecodeKernels kernels, ElementwiseKernels elementwise, ReductionKernels reduce,
                        Cublas cublas, DecodePlan plan, int batch, DecodePlan.Mamba1 first) {
        this.backend = backend;
        this.kernels = kernels;
        this.elementwise = elementwise;
        this.reduce = reduce;
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
        dbcLayers = gemm ? null : own(plan.layers().size(), batch, dbcCols);
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
        take(tokens);
        if (!tried) {
            tried = true;
            replay = backend.record(this::queue, ids);
        }
        if (replay != null) replay.run();
        else queue();
    }

    /**
     * The step with the greedy pick and the ids' copy to pinned host memory in the same graph: a
     * token then costs the host one launch and one wait, not a launch, a sampling call and a copy.
     */
    @Override
    public int[] stepGreedy(int[] tokens, int vocabSize) {
        TokenSampling.check(batch, plan.logits().cols(), vocabSize, 0, 0, null);
        take(tokens);
        CudaContext context = backend.context();
        context.current();
        if (pinnedPicks == null) {
            picked = own(batch);
            pinnedPicks = new Pointer();
            cuMemAllocHost(pinnedPicks, 4L * batch);
        }
        if (vocabSize != greedyVocab) { // the vocabulary is part of the recording
            if (greedyReplay != null) greedyReplay.close();
            greedyReplay = null;
            greedyTried = false;
            greedyVocab = vocabSize;
        }
        Runnable body = () -> {
            queue();
            reduce.sample(addr(plan.logits()), plan.logits().cols(), batch, vocabSize, Double.doubleToRawLongBits(0.0), 0, 0,
                    addr(picked));
            cuMemcpyDtoHAsync(pinnedPicks, DeviceMemory.ptr(picked), 4L * batch, context.stream);
        };
        if (!greedyTried) {
            greedyTried = true;
            greedyReplay = backend.record(body, ids);
        }
        if (greedyReplay != null) greedyReplay.run();
        else body.run();
        cuStreamSynchronize(context.stream);
        int[] out = new int[batch];
        pinnedPicks.getByteBuffer(0, 4L * batch).order(ByteOrder.nativeOrder()).asIntBuffer().get(out);
        return out;
    }

    private void take(int[] tokens) {
        if (tokens.length != batch) throw new IllegalArgumentException(tokens.length + " tokens for a step of " + batch + " sequences");
        for (int t : tokens)
            if (t < 0 || t >= vocabRows)
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocabRows + ")");
        System.arraycopy(tokens, 0, ids, 0, batch);
    }

    /** One step's work on the stream; the token ids are read from ids. */
    private void queue() {
        backend.embedding(residual, ids, plan.embeddings());
        if (dbcLayers != null) backend.fill(dbcLayers, 0f);
        for (int i = 0; i < aNeg.length; i++) layer(i, (DecodePlan.Mamba1) plan.layers().get(i));
        long logits = addr(plan.logits());
        int v = plan.logits().cols();
        if (gemm) {
            backend.rmsNorm(normed, residual, plan.normF(), plan.eps());
            cublas.sgemm(Cublas.OP_T, Cublas.OP_N, v, batch, hidden, 1f, addr(plan.lmHead()), hidden, addr(normed), hidden,
                    0f, logits, v);
        } else {
            kernels.normGemv(logits, 0, addr(residual), addr(plan.normF()), plan.eps(), addr(plan.lmHead()),
                    addr(plan.lmHead()), 0, 0, v, v, hidden, batch, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        }
    }

    private void layer(int i, DecodePlan.Mamba1 m) {
        long xzA = addr(xz), xcA = addr(xc), yA = addr(y), res = addr(residual), zA = xzA + 4L * di;
        long dbcA = gemm ? addr(dbc) : addr(dbcLayers) + 4L * i * batch * dbcCols;
        // the (dt_low, B, C) rows; the non-selective ablation: one B and C for every sequence, dt = softplus(dt_bias)
        long dtLow = rank > 0 ? dbcA : 0, bA = rank > 0 ? dbcA + 4L * rank : addr(m.bConst()),
                cA = rank > 0 ? dbcA + 4L * (rank + n) : addr(m.cConst()), bcStride = rank > 0 ? dbcCols : 0;
        if (gemm) {
            backend.rmsNorm(normed, residual, m.norm(), plan.eps());
            float beta = 0f;
            if (inBias != null) {
                backend.broadcastRows(xz, inBias.rows(i, i + 1));
                beta = 1f;
            }
            product(xzA, 2 * di, addr(normed), hidden, beta, new Tensor[]{m.inX(), m.inZ()});
            kernels.conv(xcA, xzA, 2L * di, addr(m.conv()), addr(m.convBias()), addr(m.convState()), batch, di, width);
            // x_proj's 80 rows: cuBLAS gives them few blocks; the matrix-vector kernel spreads them over the device
            if (rank > 0)
                kernels.gemv(dbcA, dbcCols, xcA, addr(m.xProjDt()), addr(m.xProjB()), addr(m.xProjC()), rank, rank + n, 0,
                        dbcCols, di, batch, false);
            kernels.scan(yA, xcA, zA, 2L * di, dtLow, dbcCols, bA, bcStride, cA, bcStride, addr(m.dtWeight()),
                    addr(m.dtBias()), addr(aNeg[i]), addr(m.d()), addr(m.ssmState()), batch, di, n, rank);
            // residual += y W^T (+ bias): the residual add is the GEMM's beta
            cublas.sgemm(Cublas.OP_T, Cublas.OP_N, hidden, batch, di, 1f, addr(m.out()), di, yA, di, 1f, res, hidden);
            if (m.outBias() != null) elementwise.addBiasRows(res, addr(m.outBias()), batch, hidden);
        } else {
            boolean sel = rank > 0;
            kernels.normGemv(xzA, xcA, res, addr(m.norm()), plan.eps(), addr(m.inX()), addr(m.inZ()), addr(m.inBiasX()),
                    addr(m.inBiasZ()), 2 * di, di, hidden, batch, addr(m.conv()), addr(m.convBias()), addr(m.convState()), width,
                    sel ? addr(m.xProjDt()) : 0, sel ? addr(m.xProjB()) : 0, sel ? addr(m.xProjC()) : 0, rank, rank + n,
                    sel ? dbcCols : 0, sel ? dbcA : 0);
            kernels.scanOut(res, hidden, addr(m.out()), addr(m.outBias()), xcA, zA, 2L * di, dtLow, dbcCols, bA, bcStride, cA,
                    bcStride, addr(m.dtWeight()), addr(m.dtBias()), addr(aNeg[i]), addr(m.d()), addr(m.ssmState()), batch, di,
                    n, rank);
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
        if (greedyReplay != null) greedyReplay.close();
        replay = greedyReplay = null;
        if (pinnedPicks != null && !backend.context().isClosed()) {
            backend.context().current();
            cuStreamSynchronize(backend.context().stream);
            cuMemFreeHost(pinnedPicks);
        }
        pinnedPicks = null;
        for (Tensor t : owned) backend.release(t);
        owned.clear();
    }
}
