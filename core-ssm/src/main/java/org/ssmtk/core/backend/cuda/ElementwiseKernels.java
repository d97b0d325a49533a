package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.F32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I64;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/**
 * Typed launches of elementwise.cu (beside this file): grid-stride kernels over n elements. Every
 * long named like a tensor is a device address; counts are elements.
 */
final class ElementwiseKernels {
    static final String MODULE = "elementwise.ptx";
    static final Kernel ADD = Kernel.of(MODULE, "add_f32", PTR, PTR, PTR, I64);
    static final Kernel ADD_PRODUCT = Kernel.of(MODULE, "add_product_f32", PTR, PTR, PTR, I64);
    static final Kernel SCALE = Kernel.of(MODULE, "scale_f32", PTR, I64, F32);
    static final Kernel NEG_EXP = Kernel.of(MODULE, "neg_exp_f32", PTR, PTR, I64);
    static final Kernel BROADCAST_ROWS = Kernel.of(MODULE, "broadcast_rows", PTR, PTR, I64, I32);
    static final Kernel ADD_BIAS_ROWS = Kernel.of(MODULE, "add_bias_rows", PTR, PTR, I64, I32);
    static final Kernel FILL_UNIFORM = Kernel.of(MODULE, "fill_uniform", PTR, I64, I64, F32, F32);
    static final Kernel ADAMW = Kernel.of(MODULE, "adamw_f32", PTR, PTR, PTR, PTR, I64, F32, F32, F32, F32, F32, F32, F32);
    static final Kernel ADAMW_MULTI = Kernel.of(MODULE, "adamw_multi", PTR, I32, F32, F32, F32, F32, F32, F32, F32);
    static final Kernel ZERO_MULTI = Kernel.of(MODULE, "zero_multi", PTR, I32);
    static final Kernel EMBEDDING = Kernel.of(MODULE, "embedding", PTR, PTR, PTR, I64, I32);
    static final Kernel EMBEDDING_BACKWARD = Kernel.of(MODULE, "embedding_backward", PTR, PTR, PTR, I64, I32);
    static final Kernel F32_TO_BF16 = Kernel.of(MODULE, "f32_to_bf16", PTR, PTR, I64);
    static final Kernel BF16_TO_F32 = Kernel.of(MODULE, "bf16_to_f32", PTR, PTR, I64);

    private final Launcher gpu;
    private final int multiChunk;

    ElementwiseKernels(Launcher gpu) {
        this.gpu = gpu;
        multiChunk = gpu.module(MODULE).constant("MULTI_CHUNK");
    }

    /** Elements per block of the multi-tensor kernels: a {@link TensorTable}'s chunk. */
    int multiChunk() {
        return multiChunk;
    }

    /** out = a + b. */
    void add(long out, long a, long b, long n) {
        gpu.launch1d(n, ADD.args().ptr(out).ptr(a).ptr(b).i64(n));
    }

    /** out += a * b. */
    void addProduct(long out, long a, long b, long n) {
        gpu.launch1d(n, ADD_PRODUCT.args().ptr(out).ptr(a).ptr(b).i64(n));
    }

    /** p *= factor. */
    void scale(long p, long n, float factor) {
        gpu.launch1d(n, SCALE.args().ptr(p).i64(n).f32(factor));
    }

    /** out = -exp(x). */
    void negExp(long out, long x, long n) {
        gpu.launch1d(n, NEG_EXP.args().ptr(out).ptr(x).i64(n));
    }

    /** Every row of out (rows, n) = row. */
    void broadcastRows(long out, long row, long rows, int n) {
        gpu.launch1d(rows * n, BROADCAST_ROWS.args().ptr(out).ptr(row).i64(rows).i32(n));
    }

    /** Every row of out (rows, n) += bias. */
    void addBiasRows(long out, long bias, long rows, int n) {
        gpu.launch1d(rows * n, ADD_BIAS_ROWS.args().ptr(out).ptr(bias).i64(rows).i32(n));
    }

    /** Uniform values in [lo, hi) from a counter hash of (seed, index). */
    void fillUniform(long p, long n, long seed, float lo, float hi) {
        gpu.launch1d(n, FILL_UNIFORM.args().ptr(p).i64(n).i64(seed).f32(lo).f32(hi));
    }

    /** One AdamW step over n parameters; bc1, bc2 are the bias corrections. */
    void adamW(long param, long grad, long m, long v, long n, float lr, float beta1, float beta2, float eps,
               float weightDecay, float bc1, float bc2) {
        gpu.launch1d(n, ADAMW.args().ptr(param).ptr(grad).ptr(m).ptr(v).i64(n).f32(lr).f32(beta1).f32(beta2).f32(eps)
                .f32(weightDecay).f32(bc1).f32(bc2));
    }

    /**
     * One AdamW step of every tensor of a {@link TensorTable} (count tensors, blocks chunks in all),
     * with each gradient times gradScale and each tensor's own weight decay.
     */
    /** Zeroes every tensor of a {@link TensorTable} (its parameter column). */
    void zeroMulti(long table, int count, long blocks) {
        gpu.launch(blocks, 1, 256, 1, 0, ZERO_MULTI.args().ptr(table).i32(count));
    }

    void adamWMulti(long table, int count, long blocks, float gradScale, float lr, float beta1, float beta2, float eps,
                    float bc1, float bc2) {
        gpu.launch(blocks, 1, 256, 1, 0, ADAMW_MULTI.args().ptr(table).i32(count).f32(gradScale).f32(lr).f32(beta1)
                .f32(beta2).f32(eps).f32(bc1).f32(bc2));
    }

    /** out (count, h) = table rows of the count int ids at ids. */
    void embedding(long out, long ids, long table, long count, int h) {
        gpu.launch1d(count * h, EMBEDDING.args().ptr(out).ptr(ids).ptr(table).i64(count).i32(h));
    }

    /** dTable rows of the ids += dOut rows (atomic: ids repeat). */
    void embeddingBackward(long dTable, long ids, long dOut, long count, int h) {
        gpu.launch1d(count * h, EMBEDDING_BACKWARD.args().ptr(dTable).ptr(ids).ptr(dOut).i64(count).i32(h));
    }

    /** n fp32 values rounded to bf16 (nearest even) into out's 2n bytes. */
    void toBf16(long out, long in, long n) {
        gpu.launch1d(n, F32_TO_BF16.args().ptr(out).ptr(in).i64(n));
    }

    /** n bf16 values widened to fp32. */
    void fromBf16(long out, long in, long n) {
        gpu.launch1d(n, BF16_TO_F32.args().ptr(out).ptr(in).i64(n));
    }
}
