// Kernels built on block and column reductions (ReductionKernels.java launches them): column sums
// (bias and norm-weight gradients, the scan's dA/dD/dbias partials), the global sum of squares of
// gradient clipping (per tensor, and over a table of tensors in one launch), RMSNorm forward and
// backward and the cross-entropy loss (one block per row).
#include "common.cuh"
#include "multi_tensor.cuh"

// column_sums' block: COLSUM_COLS columns by COLSUM_ROWS row lanes
#define COLSUM_COLS 32
#define COLSUM_ROWS 8
SSMTK_EXPORT(COLSUM_COLS)
SSMTK_EXPORT(COLSUM_ROWS)


__device__ float block_max(float v) {
    __shared__ float part[32];
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? part[lane] : -INFINITY;
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// out[j] += sum_r m[r, j] * (m2 ? m2[r, j] : 1) * (rowScale ? rowScale[r] : 1). Block (COLSUM_COLS,
// COLSUM_ROWS) owns COLSUM_COLS columns of a slice of rows; slices meet in an atomic add, whose order does not matter at 1e-5.
extern "C" __global__ void column_sums(float* out, const float* m, const float* m2, const float* rowScale, i64 rows,
                                       int n, i64 rowsPerSlice) {
    __shared__ float acc[COLSUM_ROWS][COLSUM_COLS + 1];
    int j = blockIdx.x * COLSUM_COLS + threadIdx.x;
    i64 r0 = (i64)blockIdx.y * rowsPerSlice, r1 = min(rows, r0 + rowsPerSlice);
    float s = 0.f;
    if (j < n) {
        for (i64 r = r0 + threadIdx.y; r < r1; r += COLSUM_ROWS) {
            float v = m[r * n + j];
            if (m2) v *= m2[r * n + j];
            if (rowScale) v *= rowScale[r];
            s += v;
        }
    }
    acc[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && j < n) {
        float t = 0.f;
        for (int q = 0; q < COLSUM_ROWS; q++) t += acc[q][threadIdx.x];
        if (gridDim.y == 1) out[j] += t;
        else atomicAdd(out + j, t);
    }
}

extern "C" __global__ void sum_of_squares(const float* x, i64 n, double* out) {
    double s = 0;
    for (i64 i = gtid(); i < n; i += gstride()) {
        double v = x[i];
        s += v * v;
    }
    s = block_sum<double>(s);
    if (threadIdx.x == 0) atomicAdd(out, s);
}

// The squares of every tensor's gradient (TensorChunks.g) in double: one partial sum per block
// (chunk), in a fixed order within it; sum_doubles adds the partials.
extern "C" __global__ void sum_of_squares_multi(const TensorChunks* ts, int count, double* partials) {
    const TensorChunks t = ts[tensor_of_block(ts, count, blockIdx.x)];
    i64 start = ((i64)blockIdx.x - t.first) * MULTI_CHUNK, end = min(t.n, start + MULTI_CHUNK);
    double s = 0;
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
        double v = t.g[i];
        s += v * v;
    }
    s = block_sum<double>(s);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// *out = the sum of n doubles, by one block in a fixed order: the same total on every run.
extern "C" __global__ void sum_doubles(const double* in, i64 n, double* out) {
    double s = 0;
    for (i64 i = threadIdx.x; i < n; i += blockDim.x) s += in[i];
    s = block_sum<double>(s);
    if (threadIdx.x == 0) *out = s;
}

// The kernels below that take a bf16 output (out16, dx16, dLogits16; null: none) also write there
// every value they store, rounded to bf16 (nearest even, as f32_to_bf16): the operand of the bf16
// product that reads the tensor next (--precision bf16), without a pass of its own.
__device__ __forceinline__ void store_bf16(unsigned short* p, i64 i, float v) {
    unsigned short h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(v));
    p[i] = h;
}

// One block per row.
extern "C" __global__ void rms_norm(float* out, unsigned short* out16, const float* x, const float* w, int h, float eps) {
    const float* xr = x + (i64)blockIdx.x * h;
    float* orow = out + (i64)blockIdx.x * h;
    float ss = 0.f;
    for (int i = threadIdx.x; i < h; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum<float>(ss);
    float inv = rsqrtf(ss / h + eps);
    for (int i = threadIdx.x; i < h; i += blockDim.x) {
        float o = w[i] * (xr[i] * inv);
        orow[i] = o;
        if (out16) store_bf16(out16, (i64)blockIdx.x * h + i, o);
    }
}

// Rows a block of rms_norm_backward walks: the weight gradient's sums over them leave as one row of
// partials per slab (ReductionKernels adds them by column_sums), not as 1/rms per row for a column
// sum that reads dy and x again (100 MB a layer at 130M 8 x 2048).
#define RMS_BACKWARD_ROWS 8
SSMTK_EXPORT(RMS_BACKWARD_ROWS)
// A thread's features held in registers across the slab: h up to this many times the block
#define RMS_BACKWARD_HELD 4

// Block per slab of RMS_BACKWARD_ROWS rows: dx += the input gradient (dx16, if not null, the sums in
// bf16), dwPart[slab, i] = the sum over the slab's rows of dy x / rms (=).
extern "C" __global__ void rms_norm_backward(float* dx, unsigned short* dx16, float* dwPart, const float* dy, const float* x,
                                             const float* w, int rows, int h, float eps) {
    int r0 = blockIdx.x * RMS_BACKWARD_ROWS, r1 = min(rows, r0 + RMS_BACKWARD_ROWS);
    float* pw = dwPart + (i64)blockIdx.x * h;
    if (h <= RMS_BACKWARD_HELD * (int)blockDim.x) {
        float wv[RMS_BACKWARD_HELD], dw[RMS_BACKWARD_HELD];
#pragma unroll
        for (int k = 0; k < RMS_BACKWARD_HELD; k++) {
            int i = threadIdx.x + k * blockDim.x;
            wv[k] = i < h ? w[i] : 0.f;
            dw[k] = 0.f;
        }
        for (int r = r0; r < r1; r++) {
            i64 base = (i64)r * h;
            float xv[RMS_BACKWARD_HELD], gv[RMS_BACKWARD_HELD], ss = 0.f, dot = 0.f;
#pragma unroll
            for (int k = 0; k < RMS_BACKWARD_HELD; k++) {
                int i = threadIdx.x + k * blockDim.x;
                xv[k] = i < h ? x[base + i] : 0.f;
                gv[k] = i < h ? dy[base + i] : 0.f;
                ss += xv[k] * xv[k];
                dot += wv[k] * gv[k] * xv[k];
            }
            block_sum2<float>(ss, dot);
            float inv = rsqrtf(ss / h + eps), coef = inv * inv * inv * dot / h;
#pragma unroll
            for (int k = 0; k < RMS_BACKWARD_HELD; k++) {
                int i = threadIdx.x + k * blockDim.x;
                if (i < h) {
                    float v = dx[base + i] + (inv * wv[k] * gv[k] - coef * xv[k]);  // the += it was, spelt out
                    dx[base + i] = v;
                    if (dx16) store_bf16(dx16, base + i, v);
                    dw[k] += gv[k] * xv[k] * inv;
                }
            }
        }
#pragma unroll
        for (int k = 0; k < RMS_BACKWARD_HELD; k++) {
            int i = threadIdx.x + k * blockDim.x;
            if (i < h) pw[i] = dw[k];
        }
        return;
    }
    // wider rows: each thread keeps its features' partial sums in its slab's row of dwPart
    for (int r = r0; r < r1; r++) {
        i64 base = (i64)r * h;
        float ss = 0.f, dot = 0.f;
        for (int i = threadIdx.x; i < h; i += blockDim.x) {
            float v = x[base + i];
            ss += v * v;
            dot += w[i] * dy[base + i] * v;
        }
        block_sum2<float>(ss, dot);
        float inv = rsqrtf(ss / h + eps), coef = inv * inv * inv * dot / h;
        for (int i = threadIdx.x; i < h; i += blockDim.x) {
            float g = dy[base + i], xv = x[base + i];
            float v = dx[base + i] + (inv * w[i] * g - coef * xv);
            dx[base + i] = v;
            if (dx16) store_bf16(dx16, base + i, v);
            pw[i] = (r == r0 ? 0.f : pw[i]) + g * xv * inv;
        }
    }
}

// One block per row (up to CE_THREADS threads: the launcher gives a row about 16 logits a thread):
// dLogits = scale (softmax - onehot), loss[r] = logZ - logit[target]. Two passes over the row, not
// three: the first keeps each thread's running max and its sum of exp(l - max), rescaled when the max
// grows (the block then rescales every thread's sum to the block's max); the second writes dLogits
// (and dLogits16, if not null: dLogits rounded to bf16, store_bf16's rounding, 8-byte aligned where
// the row goes by float4). Rows whose length is a multiple of 4 and whose two rows are 16-byte
// aligned go by float4.
#define CE_THREADS 1024
SSMTK_EXPORT(CE_THREADS)

// (m, s) += l: the running max and the sum of exp(x - m) over what the thread has seen
__device__ __forceinline__ void ce_add(float& m, float& s, float l) {
    float mn = fmaxf(m, l);
    s = s * expf(m - mn) + expf(l - mn);
    m = mn;
}

extern "C" __global__ void __launch_bounds__(CE_THREADS) cross_entropy(const float* logits, const int* targets, int ignoreIndex,
                                                                        float* dLogits, unsigned short* dLogits16, float scale,
                                                                        double* loss, int v) {
    i64 base = (i64)blockIdx.x * v;
    const float* row = logits + base;
    float* drow = dLogits + base;
    unsigned short* drow16 = dLogits16 ? dLogits16 + base : nullptr;
    int target = targets[blockIdx.x];
    bool vec = (v & 3) == 0 && (((unsigned long long)row | (unsigned long long)drow) & 15) == 0
               && (((unsigned long long)drow16) & 7) == 0;
    int v4 = vec ? v >> 2 : 0, tail0 = 4 * v4;
    if (target == ignoreIndex) {
        for (int j = threadIdx.x; j < v4; j += blockDim.x) {
            ((float4*)drow)[j] = make_float4(0.f, 0.f, 0.f, 0.f);
            if (drow16) ((uint2*)drow16)[j] = make_uint2(0, 0);
        }
        for (int j = tail0 + threadIdx.x; j < v; j += blockDim.x) {
            drow[j] = 0.f;
            if (drow16) drow16[j] = 0;
        }
        if (threadIdx.x == 0) loss[blockIdx.x] = 0.0;
        return;
    }
    float m = -INFINITY, s = 0.f;
    for (int j = threadIdx.x; j < v4; j += blockDim.x) {
        float4 q = ((const float4*)row)[j];
        float mn = fmaxf(fmaxf(m, fmaxf(q.x, q.y)), fmaxf(q.z, q.w));
        s = s * expf(m - mn) + ((expf(q.x - mn) + expf(q.y - mn)) + (expf(q.z - mn) + expf(q.w - mn)));
        m = mn;
    }
    for (int j = tail0 + threadIdx.x; j < v; j += blockDim.x) ce_add(m, s, row[j]);
    float mx = block_max(m);
    s = block_sum<float>(m == -INFINITY ? 0.f : s * expf(m - mx));
    float logZ = mx + logf(s);
    for (int j = threadIdx.x; j < v4; j += blockDim.x) {
        float4 q = ((const float4*)row)[j];
        int t = target - 4 * j;
        float4 g = make_float4(scale * expf(q.x - logZ) - (t == 0 ? scale : 0.f), scale * expf(q.y - logZ) - (t == 1 ? scale : 0.f),
                               scale * expf(q.z - logZ) - (t == 2 ? scale : 0.f), scale * expf(q.w - logZ) - (t == 3 ? scale : 0.f));
        ((float4*)drow)[j] = g;
        if (drow16) {
            unsigned int lo, hi;
            asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(lo) : "f"(g.y), "f"(g.x));
            asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(hi) : "f"(g.w), "f"(g.z));
            ((uint2*)drow16)[j] = make_uint2(lo, hi);
        }
    }
    for (int j = tail0 + threadIdx.x; j < v; j += blockDim.x) {
        float g = scale * expf(row[j] - logZ) - (j == target ? scale : 0.f);
        drow[j] = g;
        if (drow16) store_bf16(drow16, j, g);
    }
    if (threadIdx.x == 0) loss[blockIdx.x] = (double)logZ - (double)row[target];
}
// sample_rows: one block of SAMPLE_THREADS per row of logits (row stride ld), candidates [0, vocab).
// temperature 0 (its double's bits): the first index of the largest logit. Otherwise the candidates
// are the logits >= the topK-th largest (topK 0 or >= vocab: all), weighted exp((l - max) / T) in
// double, and the pick is the first candidate whose running weight exceeds u[r] * total, as the host
// Sampler walks them; the running sums here are per-thread slices then a scan, so a u within double
// rounding of a boundary may land on the neighbour. ids[r] gets the pick.
#define SAMPLE_THREADS 1024
SSMTK_EXPORT(SAMPLE_THREADS)

// order-preserving map of a float's bits onto unsigned ints (larger float, larger key)
__device__ __forceinline__ unsigned int float_key(float f) {
    unsigned int b = __float_as_uint(f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

extern "C" __global__ void sample_rows(const float* logits, i64 ld, int vocab, i64 temperatureBits, int topK,
                                       const double* u, int* ids) {
    __shared__ float bestV[SAMPLE_THREADS / 32];
    __shared__ int bestI[SAMPLE_THREADS / 32];
    __shared__ unsigned int hist[256];
    __shared__ unsigned int prefixKey, prefixMask;
    __shared__ int remaining;
    __shared__ double scan[SAMPLE_THREADS];
    __shared__ int pick;
    const float* row = logits + (i64)blockIdx.x * ld;
    double temperature = __longlong_as_double(temperatureBits);
    int t = threadIdx.x, lane = t & 31, warp = t >> 5, warps = blockDim.x >> 5;
    if (temperature == 0.0) {
        float bv = -INFINITY;
        int bi = 0x7fffffff;
        for (int i = t; i < vocab; i += blockDim.x) {
            float v = row[i];
            if (v > bv || (v == bv && i < bi)) { bv = v; bi = i; }
        }
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(FULL_MASK, bv, o);
            int oi = __shfl_xor_sync(FULL_MASK, bi, o);
            if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
        }
        if (lane == 0) { bestV[warp] = bv; bestI[warp] = bi; }
        __syncthreads();
        if (warp == 0) {
            bv = lane < warps ? bestV[lane] : -INFINITY;
            bi = lane < warps ? bestI[lane] : 0x7fffffff;
            for (int o = 16; o > 0; o >>= 1) {
                float ov = __shfl_xor_sync(FULL_MASK, bv, o);
                int oi = __shfl_xor_sync(FULL_MASK, bi, o);
                if (ov > bv || (ov == bv && oi < bi)) { bv = ov; bi = oi; }
            }
            // all -inf (or NaN) rows: the host keeps index 0
            if (lane == 0) ids[blockIdx.x] = bi == 0x7fffffff ? 0 : bi;
        }
        return;
    }
    // the topK-th largest key, a byte at a time from the top (radix select)
    float threshold = -INFINITY;
    if (topK > 0 && topK < vocab) {
        if (t == 0) { prefixKey = 0; prefixMask = 0; remaining = topK; }
        for (int shift = 24; shift >= 0; shift -= 8) {
            for (int b = t; b < 256; b += blockDim.x) hist[b] = 0;
            __syncthreads();
            unsigned int pk = prefixKey, pm = prefixMask;
            for (int i = t; i < vocab; i += blockDim.x) {
                unsigned int k = float_key(row[i]);
                if ((k & pm) == pk) atomicAdd(&hist[(k >> shift) & 255u], 1u);
            }
            __syncthreads();
            if (t == 0) {
                int need = remaining;
                int b = 255;
                for (; b > 0; b--) {
                    if ((int)hist[b] >= need) break;
                    need -= hist[b];
                }
                remaining = need;
                prefixKey = pk | ((unsigned int)b << shift);
                prefixMask = pm | (255u << shift);
            }
            __syncthreads();
        }
        unsigned int k = prefixKey;
        threshold = __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
    }
    float mx = -INFINITY;
    for (int i = t; i < vocab; i += blockDim.x) {
        float v = row[i];
        if (v >= threshold) mx = fmaxf(mx, v);
    }
    mx = block_max(mx);
    double dmax = (double)mx;
    // each thread owns a contiguous slice, so that a scan of the slice sums orders the running weight
    int per = (vocab + blockDim.x - 1) / blockDim.x, lo = min(vocab, t * per), hi = min(vocab, lo + per);
    double s = 0.0;
    for (int i = lo; i < hi; i++) {
        float v = row[i];
        if (v >= threshold) s += exp(((double)v - dmax) / temperature);
    }
    scan[t] = s;
    if (t == 0) pick = 0x7fffffff;
    __syncthreads();
    for (int o = 1; o < blockDim.x; o <<= 1) {  // inclusive Hillis-Steele scan
        double add = t >= o ? scan[t - o] : 0.0;
        __syncthreads();
        scan[t] += add;
        __syncthreads();
    }
    double total = scan[blockDim.x - 1], target = u[blockIdx.x] * total;
    double acc = scan[t] - s;
    if (acc <= target && scan[t] > target) {
        int last = -1;
        for (int i = lo; i < hi; i++) {
            float v = row[i];
            if (v < threshold) continue;
            double p = exp(((double)v - dmax) / temperature);
            if (p == 0.0) continue;
            last = i;
            acc += p;
            if (acc > target) break;
        }
        // the slice's own walk may round short of the target: its last weighted index then
        if (last >= 0) atomicMin(&pick, last);
    }
    __syncthreads();
    if (pick == 0x7fffffff) {  // rounding left the target past the last weight: the last candidate, as the host
        int last = 0;
        for (int i = t; i < vocab; i += blockDim.x) {
            float v = row[i];
            if (v >= threshold && exp(((double)v - dmax) / temperature) != 0.0) last = max(last, i);
        }
        for (int o = 16; o > 0; o >>= 1) last = max(last, __shfl_xor_sync(FULL_MASK, last, o));
        if (lane == 0) bestI[warp] = last;
        __syncthreads();
        if (t == 0) {
            int m = 0;
            for (int w = 0; w < warps; w++) m = max(m, bestI[w]);
            ids[blockIdx.x] = m;
        }
        return;
    }
    if (t == 0) ids[blockIdx.x] = pick;
}
