// Mamba-1's decoding step fused into few kernels (DecodeKernels.java launches them, CudaDecoder
// orders them): at one token per sequence a step is bound by reading the weights once and by how
// many kernels it takes, not by arithmetic. Per layer, for a few sequences (at most DECODE_MAX_BATCH):
//   decode_norm_gemv  RMSNorm of the residual + in_proj, with the conv window's update and SiLU on
//                     the x half (a channel's conv needs only that channel's x), and each block's
//                     share of x_proj (its channels' columns) added into (dt_low, B, C) by atomics
//   decode_scan_out   dt_proj + softplus, the state update, C . h, D skip and the SiLU(z) gate for
//                     16 channels a block, then those channels' share of out_proj added into the
//                     residual by atomics
// and once per step decode_norm_gemv again for norm_f + the LM head. Two kernels a layer instead of
// four: a kernel boundary costs about as much as a small kernel's work. The atomics make x_proj's and
// out_proj's sums come in a varying order: the step is not bit-reproducible run to run (within
// float rounding, ~1e-7). For more sequences the in and out products are GEMMs (cuBLAS) and x_proj
// decode_gemv, between decode_conv and decode_scan.
//
// Products: a group of tpr threads (32..256, a divisor of the block) owns one weight row and walks
// it with float4 loads (scalar where a row or an input is not 16-byte aligned), so a row is read
// once, coalesced, for every sequence of the batch; rows with few of them (x_proj's) get larger
// groups, so that the whole device reads. Blocks of gridDim.y take the sequences DECODE_MAX_BATCH at
// a time.
#include "common.cuh"

#define DECODE_THREADS 256
#define DECODE_MAX_BATCH 4
// lanes a channel in decode_scan_out: a lane a state of d_state 16
#define SCAN_LANES 16
SSMTK_EXPORT(SCAN_LANES)
SSMTK_EXPORT(DECODE_THREADS)
SSMTK_EXPORT(DECODE_MAX_BATCH)

__device__ __forceinline__ bool aligned16(const void* p) { return ((unsigned long long)p & 15ull) == 0; }

// Sum of v over the tpr threads of this thread's group (groups are aligned runs of tpr threads);
// every thread of the group gets it. part: DECODE_THREADS / 32 floats of shared memory per value.
__device__ __forceinline__ float group_sum(float v, int tpr, float* part) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    if (tpr <= 32) return v;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, per = tpr >> 5, first = warp / per * per;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    float s = 0.f;
    for (int i = 0; i < per; i++) s += part[first + i];
    __syncthreads();  // part is reused by the next call
    return s;
}

// acc[b] = sum_k w[k] x_b[k] (g[k] too where g is given), ss[b] = sum_k x_b[k]^2 (with g only),
// over this thread's share t, t + tpr, ... of the row.
template <bool NORM>
__device__ __forceinline__ void row_partials(const float* __restrict__ w, const float* __restrict__ x, i64 xStride,
                                             const float* __restrict__ g, int K, int batch, int t, int tpr,
                                             float acc[DECODE_MAX_BATCH], float ss[DECODE_MAX_BATCH]) {
#pragma unroll
    for (int b = 0; b < DECODE_MAX_BATCH; b++) acc[b] = ss[b] = 0.f;
    bool vec = (K & 3) == 0 && (xStride & 3) == 0 && aligned16(w) && aligned16(x) && (!NORM || aligned16(g));
    if (vec) {
        const float4* w4 = reinterpret_cast<const float4*>(w);
        int k4n = K >> 2;
#pragma unroll 4
        for (int k = t; k < k4n; k += tpr) {
            float4 wv = __ldg(w4 + k);
            float4 gv = NORM ? __ldg(reinterpret_cast<const float4*>(g) + k) : make_float4(1.f, 1.f, 1.f, 1.f);
#pragma unroll
            for (int b = 0; b < DECODE_MAX_BATCH; b++) {
                if (b < batch) {
                    float4 xv = reinterpret_cast<const float4*>(x + b * xStride)[k];
                    if (NORM) {
                        ss[b] += xv.x * xv.x + xv.y * xv.y + xv.z * xv.z + xv.w * xv.w;
                        xv.x *= gv.x; xv.y *= gv.y; xv.z *= gv.z; xv.w *= gv.w;
                    }
                    acc[b] += wv.x * xv.x + wv.y * xv.y + wv.z * xv.z + wv.w * xv.w;
                }
            }
        }
    } else {
        for (int k = t; k < K; k += tpr) {
            float wv = __ldg(w + k), gv = NORM ? __ldg(g + k) : 1.f;
#pragma unroll
            for (int b = 0; b < DECODE_MAX_BATCH; b++) {
                if (b < batch) {
                    float xv = x[b * xStride + k];
                    if (NORM) ss[b] += xv * xv;
                    acc[b] += wv * (xv * gv);
                }
            }
        }
    }
}

// out (batch, rows) = rmsnorm(x) W^T + bias, W's rows [0, split) from w0 and [split, rows) from w1
// (in_proj's x and z views need not be adjacent), bias likewise (either may be null). x (batch, K).
// Where convW is given, rows [0, split) are channels: each also gets its causal conv over the
// window convState (batch, width - 1, split; oldest row first) with SiLU into xc (batch, split),
// and the window moves on by that row's value. Where xw0 is given too, the block adds its channels'
// share of x_proj (xrows rows of split columns: [0, xs1) at xw0, [xs1, xs2) at xw1, the rest at
// xw2) into dbc (batch, xrows), which must hold zeros (or a partial sum) before.
extern "C" __global__ void __launch_bounds__(DECODE_THREADS)
decode_norm_gemv(float* out, float* xc, const float* x, const float* normW, float eps,
                 const float* w0, const float* w1, const float* bias0, const float* bias1,
                 int rows, int split, int K, int batch, int tpr,
                 const float* convW, const float* convB, float* convState, int width,
                 const float* xw0, const float* xw1, const float* xw2, int xs1, int xs2, int xrows, float* dbc) {
    __shared__ float part[DECODE_THREADS / 32];
    __shared__ float xcs[DECODE_THREADS / 32][DECODE_MAX_BATCH];
    int b0 = blockIdx.y * DECODE_MAX_BATCH, nb = min(DECODE_MAX_BATCH, batch - b0);
    x += (i64)b0 * K;
    out += (i64)b0 * rows;
    int groups = DECODE_THREADS / tpr, t = threadIdx.x % tpr, local = threadIdx.x / tpr;
    int r = blockIdx.x * groups + local;
    bool live = r < rows;  // every thread still joins group_sum's barriers
    int rr = live ? r : 0;
    const float* w = rr < split ? w0 + (i64)rr * K : w1 + (i64)(rr - split) * K;
    float acc[DECODE_MAX_BATCH], ss[DECODE_MAX_BATCH];
    row_partials<true>(w, x, K, normW, K, live ? nb : 0, t, tpr, acc, ss);
#pragma unroll
    for (int b = 0; b < DECODE_MAX_BATCH; b++) {
        if (b < nb) {
            acc[b] = group_sum(acc[b], tpr, part);
            ss[b] = group_sum(ss[b], tpr, part);
        }
    }
    // thread t of the group finishes sequence b0 + t
    float xcv = 0.f;
    if (live && t < nb) {
        float a = 0.f, s = 0.f;
#pragma unroll
        for (int b = 0; b < DECODE_MAX_BATCH; b++)
            if (b == t) { a = acc[b]; s = ss[b]; }
        const float* bias = r < split ? bias0 : bias1;
        float v = a * rsqrtf(s / K + eps);
        if (bias) v += bias[r < split ? r : r - split];
        out[(i64)t * rows + r] = v;
        if (convW && r < split) {
            int keep = width - 1;
            float* st = convState + ((i64)(b0 + t) * keep) * split + r;
            float c = convB ? convB[r] : 0.f;
            for (int j = 0; j < keep; j++) c += convW[(i64)r * width + j] * st[(i64)j * split];
            c += convW[(i64)r * width + keep] * v;
            for (int j = 0; j + 1 < keep; j++) st[(i64)j * split] = st[(i64)(j + 1) * split];
            if (keep > 0) st[(i64)(keep - 1) * split] = v;
            xcv = siluf(c);
            xc[(i64)(b0 + t) * split + r] = xcv;
        }
    }
    if (!convW || !xw0) return;
    if (t < DECODE_MAX_BATCH) xcs[local][t] = live && t < nb && r < split ? xcv : 0.f;
    __syncthreads();
    int first = blockIdx.x * groups;
    if (first >= split) return;
    int mine = min(groups, split - first);
    for (int o = threadIdx.x; o < xrows; o += DECODE_THREADS) {
        const float* wr = (o < xs1 ? xw0 + (i64)o * split : o < xs2 ? xw1 + (i64)(o - xs1) * split : xw2 + (i64)(o - xs2) * split) + first;
        float p[DECODE_MAX_BATCH] = {0.f, 0.f, 0.f, 0.f};
        for (int j = 0; j < mine; j++) {
            float wv = __ldg(wr + j);
#pragma unroll
            for (int b = 0; b < DECODE_MAX_BATCH; b++) p[b] += wv * xcs[j][b];
        }
        for (int b = 0; b < nb; b++) atomicAdd(dbc + (i64)(b0 + b) * xrows + o, p[b]);
    }
}

// out (batch, outStride) columns [0, rows) = in (batch, K) W^T + bias, added to what out holds
// where accumulate is 1 (the residual). W's rows [0, s1) from w0, [s1, s2) from w1, [s2, rows) from
// w2 (x_proj's dt, B and C views). bias may be null.
extern "C" __global__ void __launch_bounds__(DECODE_THREADS)
decode_gemv(float* out, int outStride, const float* in, const float* w0, const float* w1, const float* w2,
            int s1, int s2, const float* bias, int rows, int K, int batch, int tpr, int accumulate) {
    __shared__ float part[DECODE_THREADS / 32];
    int b0 = blockIdx.y * DECODE_MAX_BATCH, nb = min(DECODE_MAX_BATCH, batch - b0);
    in += (i64)b0 * K;
    out += (i64)b0 * outStride;
    int groups = DECODE_THREADS / tpr, t = threadIdx.x % tpr;
    int r = blockIdx.x * groups + threadIdx.x / tpr;
    bool live = r < rows;
    int rr = live ? r : 0;
    const float* w = rr < s1 ? w0 + (i64)rr * K : rr < s2 ? w1 + (i64)(rr - s1) * K : w2 + (i64)(rr - s2) * K;
    float acc[DECODE_MAX_BATCH], unused[DECODE_MAX_BATCH];
    row_partials<false>(w, in, K, nullptr, K, live ? nb : 0, t, tpr, acc, unused);
#pragma unroll
    for (int b = 0; b < DECODE_MAX_BATCH; b++)
        if (b < nb) acc[b] = group_sum(acc[b], tpr, part);
    if (!live || t >= nb) return;
    float a = 0.f;
#pragma unroll
    for (int b = 0; b < DECODE_MAX_BATCH; b++)
        if (b == t) a = acc[b];
    if (bias) a += bias[r];
    float* o = out + (i64)t * outStride + r;
    *o = accumulate ? a + *o : a;
}

// The conv window step for many sequences (the GEMM path): x (batch, ch) with row stride xStride,
// one thread per (sequence, channel); the same arithmetic as decode_norm_gemv's epilogue.
extern "C" __global__ void decode_conv(float* xc, const float* x, i64 xStride, const float* convW, const float* convB,
                                       float* convState, int batch, int ch, int width) {
    i64 i = gtid();
    if (i >= (i64)batch * ch) return;
    int b = (int)(i / ch), r = (int)(i % ch), keep = width - 1;
    float v = x[b * xStride + r];
    float* st = convState + (i64)b * keep * ch + r;
    float c = convB ? convB[r] : 0.f;
    for (int j = 0; j < keep; j++) c += convW[(i64)r * width + j] * st[(i64)j * ch];
    c += convW[(i64)r * width + keep] * v;
    for (int j = 0; j + 1 < keep; j++) st[(i64)j * ch] = st[(i64)(j + 1) * ch];
    if (keep > 0) st[(i64)(keep - 1) * ch] = v;
    xc[i] = siluf(c);
}

// One token of the selective scan for channel c of one sequence, by a group of `lanes` threads
// (a divisor of 32, groups aligned in the warp), lane s holding states s, s + lanes, ...:
//   dt = softplus(dtW[c] . dtLow + dtBias[c]);  h[s] = exp(dt A[c,s]) h[s] + dt x B[s];
//   y = (C . h + D[c] x) silu(z)
// returned to every lane. rank 0: no dt_proj (dt = softplus(dtBias)). h is written where live.
__device__ __forceinline__ float scan_channel(int lanes, int lane, bool live, const float* dtWr, const float* dtLow, int rank,
                                              float dtBias, float x, const float* a, float* hs, const float* bb,
                                              const float* cc, int n, float d, float z) {
    float pre = 0.f;
    for (int j = lane; j < rank; j += lanes) pre += dtWr[j] * dtLow[j];
    for (int o = lanes / 2; o > 0; o >>= 1) pre += __shfl_xor_sync(FULL_MASK, pre, o);
    float dt = softplusf(pre + dtBias), dtu = dt * x;
    float acc = 0.f;
    for (int s = lane; s < n; s += lanes) {
        float v = expf(dt * a[s]) * hs[s] + dtu * bb[s];
        if (live) hs[s] = v;
        acc += v * cc[s];
    }
    for (int o = lanes / 2; o > 0; o >>= 1) acc += __shfl_xor_sync(FULL_MASK, acc, o);
    return (acc + d * x) * (z * sigmoidf(z));
}

// The scan step of every (sequence, channel), `lanes` threads each, into y (batch, ch). dtLow, B, C
// rows of each sequence at the given strides (stride 0: the same row for all, the non-selective
// ablation's constant B and C). A is -exp(A_log), taken once per decoder. h (batch, ch, n) is
// updated in place.
extern "C" __global__ void decode_scan(float* y, const float* xc, const float* z, i64 zStride,
                                       const float* dtLow, i64 dtStride, const float* Bm, i64 bStride,
                                       const float* Cm, i64 cStride, const float* dtW, const float* dtBias,
                                       const float* A, const float* D, float* h, int batch, int ch, int n, int rank, int lanes) {
    i64 g = gtid() / lanes;
    int lane = threadIdx.x % lanes;
    bool live = g < (i64)batch * ch;  // dead lanes still join the shuffles of their group
    int b = live ? (int)(g / ch) : 0, c = live ? (int)(g % ch) : 0;
    float x = xc[(i64)b * ch + c];
    float v = scan_channel(lanes, lane, live, dtW + (i64)c * rank, dtLow + b * dtStride, rank, dtBias[c], x, A + (i64)c * n,
                           h + ((i64)b * ch + c) * n, Bm + b * bStride, Cm + b * cStride, n, D[c], z[b * zStride + c]);
    if (live && lane == 0) y[(i64)b * ch + c] = v;
}

#define SCAN_CHANNELS (DECODE_THREADS / SCAN_LANES)

// decode_scan for at most DECODE_MAX_BATCH sequences, SCAN_CHANNELS channels a block (SCAN_LANES
// lanes each), followed by those channels' share of out_proj (outW (hidden, ch)) added into resid
// (batch, hidden) by atomics; block 0 adds the bias (may be null).
extern "C" __global__ void __launch_bounds__(DECODE_THREADS)
decode_scan_out(float* resid, int hidden, const float* outW, const float* outBias, const float* xc, const float* z,
                i64 zStride, const float* dtLow, i64 dtStride, const float* Bm, i64 bStride, const float* Cm, i64 cStride,
                const float* dtW, const float* dtBias, const float* A, const float* D, float* h, int batch, int ch, int n,
                int rank) {
    __shared__ float ys[DECODE_MAX_BATCH][SCAN_CHANNELS];
    int local = threadIdx.x / SCAN_LANES, lane = threadIdx.x % SCAN_LANES;
    int c0 = blockIdx.x * SCAN_CHANNELS, c = c0 + local;
    bool live = c < ch;
    int cc = live ? c : 0;
    for (int b = 0; b < batch; b++) {
        float x = xc[(i64)b * ch + cc];
        float v = scan_channel(SCAN_LANES, lane, live, dtW + (i64)cc * rank, dtLow + b * dtStride, rank, dtBias[cc], x,
                               A + (i64)cc * n, h + ((i64)b * ch + cc) * n, Bm + b * bStride, Cm + b * cStride, n, D[cc],
                               z[b * zStride + cc]);
        if (lane == 0) ys[b][local] = live ? v : 0.f;
    }
    __syncthreads();
    int mine = min(SCAN_CHANNELS, ch - c0);
    bool vec = mine == SCAN_CHANNELS && (ch & 3) == 0 && aligned16(outW);
    for (int r = threadIdx.x; r < hidden; r += DECODE_THREADS) {
        const float* wr = outW + (i64)r * ch + c0;
        float p[DECODE_MAX_BATCH] = {0.f, 0.f, 0.f, 0.f};
        if (vec) {
#pragma unroll
            for (int q = 0; q < SCAN_CHANNELS / 4; q++) {
                float4 wv = __ldg(reinterpret_cast<const float4*>(wr) + q);
#pragma unroll
                for (int b = 0; b < DECODE_MAX_BATCH; b++)
                    p[b] += wv.x * ys[b][4 * q] + wv.y * ys[b][4 * q + 1] + wv.z * ys[b][4 * q + 2] + wv.w * ys[b][4 * q + 3];
            }
        } else {
            for (int j = 0; j < mine; j++) {
                float wv = __ldg(wr + j);
#pragma unroll
                for (int b = 0; b < DECODE_MAX_BATCH; b++) p[b] += wv * ys[b][j];
            }
        }
        float bias = blockIdx.x == 0 && outBias ? outBias[r] : 0.f;
        for (int b = 0; b < batch; b++) atomicAdd(resid + (i64)b * hidden + r, p[b] + bias);
    }
}
