// Tuning variants of the one-pass scan forward (production: core-ssm/.../cuda/scan_forward.cu), kept
// out of the build as llm.c keeps its dev/cuda kernels. Production took SEQ_TILE 32 and the fast
// softplus; build a variant with, e.g.
//   nvcc -arch=compute_80 -ptx -O3 -std=c++17 -DSEQ_FAST_SOFTPLUS=0 -o /tmp/v.ptx dev/cuda/scan_forward_variants.cu
//   SEQ_TILE           steps per cp.async tile (a multiple of 4 dividing SCAN_CHUNK)
//   SEQ_FAST_SOFTPLUS  1: softplus on the special-function unit (ex2/lg2, series below 1/16);
//                      0: the exact softplusf of common.cuh (costs 5-9% of the kernel)
#include "../../core-ssm/src/main/java/org/ssmtk/core/backend/cuda/scan_common.cuh"

// ---- the forward in one pass, for batches wide enough to fill the GPU without splitting time
//
// The chunked forward above reads u, delta and B twice and takes every step's decays twice (the
// special-function unit's exp2 is what bounds it). When batch x channel groups alone give every SM
// several blocks, a block can instead walk its channels' whole sequence once: SEQ_CH channels of one
// sequence, four lanes per channel each holding NMAX / 4 of its states, so a warp is eight channels.
// Tiles of SEQ_TILE steps arrive by cp.async into a double buffer while the previous tile is walked;
// per tile the block converts its inputs once (dt = softplus(delta + bias) and dt u per (step,
// channel), B and C rows as fp32), walks the steps with the state in registers, and leaves y in the
// z slots it read the gate from, written back in one coalesced sweep. The sums over the state are
// taken four steps at a time (quad_transpose_sum), so each lane finishes the output of one step.
// The state entering every SCAN_CHUNK steps is written on the way (training keeps it), the state
// entering the call comes from h0 and the last one goes to finalState (both may be one buffer).
#ifndef SEQ_TILE
#define SEQ_TILE 32
#endif
#ifndef SEQ_FAST_SOFTPLUS
#define SEQ_FAST_SOFTPLUS 1
#endif
#define SEQ_CH 32
#define SEQ_THREADS (SEQ_CH * 4)

// softplus with exp2 and log2 on the special-function unit: log1p(t) by its series below 1/16, where
// 1 + t would round away t's low bits, and as log2(1 + t) above (relative error under 1e-6)
__device__ __forceinline__ float softplus_fast(float x) {
    float t = ex2(-fabsf(x) * LOG2E), l;
    if (t < 0.0625f) {
        l = t * (1.f + t * (-0.5f + t * (1.f / 3.f + t * (-0.25f + t * 0.2f))));
    } else {
        float r;
        asm("lg2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(1.f + t));
        l = r * 0.6931471805599453f;
    }
    return fmaxf(x, 0.f) + l;
}

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
    unsigned s = (unsigned)__cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(s), "l"(gmem));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_one() { asm volatile("cp.async.wait_group 1;\n" ::); }

// Rows [t0, t0 + steps) of the block's SEQ_CH columns (from column col0 of width cols) into dst, by
// 16-byte cp.async when every row is whole and aligned (fast), else element by element, zero-filled.
template <int W, typename T>
__device__ __forceinline__ void seq_stage(T (*dst)[W], const T* __restrict__ src, i64 row0, int steps, int col0,
                                          int cols, bool fast) {
    constexpr int PER_ROW = W * (int)sizeof(T) / 16;
    if constexpr (PER_ROW > 0) {
        if (fast) {
            for (int e = threadIdx.x; e < steps * PER_ROW; e += blockDim.x) {
                int i = e / PER_ROW, p = e % PER_ROW;
                cp_async16(reinterpret_cast<char*>(&dst[i][0]) + 16 * p,
                           reinterpret_cast<const char*>(src + (row0 + i) * cols + col0) + 16 * p);
            }
            return;
        }
    }
    {
        for (int e = threadIdx.x; e < steps * W; e += blockDim.x) {
            int i = e / W, k = e % W;
            T v;
            if (col0 + k < cols) v = src[(row0 + i) * cols + col0 + k];
            else if constexpr (sizeof(T) == 2) v.v = 0;
            else v = 0.f;
            dst[i][k] = v;
        }
    }
}

template <int NMAX, typename T>
__device__ void scan_seq(T* __restrict__ y, const T* __restrict__ u, const T* __restrict__ delta,
                         const float* __restrict__ deltaBias, const float* __restrict__ A,
                         const T* __restrict__ B, const T* __restrict__ C, const float* __restrict__ D,
                         const T* __restrict__ z, const float* h0, float* finalState,
                         float* __restrict__ chunkStates, int len, int ch, int n, int nChunks) {
    constexpr int S = NMAX / 4;
    __shared__ __align__(16) T rU[2][SEQ_TILE][SEQ_CH];
    __shared__ __align__(16) T rDel[2][SEQ_TILE][SEQ_CH];
    __shared__ __align__(16) T rZY[2][SEQ_TILE][SEQ_CH];  // z in, y out
    __shared__ __align__(16) T rB[2][SEQ_TILE][NMAX];
    __shared__ __align__(16) T rC[2][SEQ_TILE][NMAX];
    __shared__ __align__(16) float2 tDt[SEQ_TILE][SEQ_CH];  // (dt, dt u)
    __shared__ __align__(16) float fB[SEQ_TILE][NMAX];
    __shared__ __align__(16) float fC[SEQ_TILE][NMAX];

    int tid = threadIdx.x, q = tid & 3, cl = tid >> 2, b = blockIdx.y;
    int col0 = blockIdx.x * SEQ_CH, d = col0 + cl;
    bool active = d < ch;
    int dd = active ? d : 0;
    auto aligned = [](const void* p) { return (reinterpret_cast<unsigned long long>(p) & 15) == 0; };
    bool fastCh = col0 + SEQ_CH <= ch && (ch * (int)sizeof(T)) % 16 == 0 && aligned(u) && aligned(delta)
                  && aligned(y) && (z == nullptr || aligned(z));
    bool fastBC = n == NMAX && (NMAX * sizeof(T)) % 16 == 0 && aligned(B) && aligned(C);
    int tiles = (len + SEQ_TILE - 1) / SEQ_TILE;
    i64 seqRow = (i64)b * len;

    auto issue = [&](int tile) {
        if (tile < tiles) {
            int buf = tile & 1, t0 = tile * SEQ_TILE, steps = min(len, t0 + SEQ_TILE) - t0;
            seq_stage<SEQ_CH>(rU[buf], u, seqRow + t0, steps, col0, ch, fastCh);
            seq_stage<SEQ_CH>(rDel[buf], delta, seqRow + t0, steps, col0, ch, fastCh);
            if (z) seq_stage<SEQ_CH>(rZY[buf], z, seqRow + t0, steps, col0, ch, fastCh);
            seq_stage<NMAX>(rB[buf], B, seqRow + t0, steps, 0, n, fastBC);
            seq_stage<NMAX>(rC[buf], C, seqRow + t0, steps, 0, n, fastBC);
        }
        cp_async_commit();  // an empty group past the end keeps wait_group 1's count right
    };

    float a2[S], h[S];
#pragma unroll
    for (int j = 0; j < S; j++) {
        int k = q * S + j;
        bool in = k < n;
        a2[j] = in ? A[(i64)dd * n + k] * LOG2E : 0.f;
        h[j] = (in && h0 && active) ? h0[((i64)b * ch + d) * n + k] : 0.f;
    }
    float dskip = D ? D[dd] : 0.f;
    issue(0);
    issue(1);
    for (int tile = 0; tile < tiles; tile++) {
        int buf = tile & 1, t0 = tile * SEQ_TILE, steps = min(len, t0 + SEQ_TILE) - t0;
        cp_async_wait_one();
        __syncthreads();
        // steps past the end get dt = 0 and zero B, C: exp2(0) h + 0 leaves the state as it is, so the
        // walk below needs no test per step and the compiler may overlap consecutive steps
        for (int e = tid; e < SEQ_TILE * SEQ_CH; e += SEQ_THREADS) {
            int i = e / SEQ_CH, k = e % SEQ_CH, dk = min(col0 + k, ch - 1);
            float2 v = make_float2(0.f, 0.f);
            if (i < steps) {
                float x = ldf(rDel[buf][i][k]) + (deltaBias ? deltaBias[dk] : 0.f);
#if SEQ_FAST_SOFTPLUS
                float dt = softplus_fast(x);
#else
                float dt = softplusf(x);
#endif
                v = make_float2(dt, dt * ldf(rU[buf][i][k]));
            }
            tDt[i][k] = v;
        }
        for (int e = tid; e < SEQ_TILE * NMAX; e += SEQ_THREADS) {
            int i = e / NMAX, k = e % NMAX;
            bool in = i < steps && k < n;
            fB[i][k] = in ? ldf(rB[buf][i][k]) : 0.f;
            fC[i][k] = in ? ldf(rC[buf][i][k]) : 0.f;
        }
        __syncthreads();
        if (chunkStates && t0 % SCAN_CHUNK == 0 && active) {
            i64 base = (((i64)b * nChunks + t0 / SCAN_CHUNK) * ch + d) * n;
#pragma unroll
            for (int j = 0; j < S; j++)
                if (q * S + j < n) chunkStates[base + q * S + j] = h[j];
        }
#pragma unroll 2
        for (int gq = 0; gq < SEQ_TILE / 4; gq++) {
            float acc4[4];
#pragma unroll
            for (int ii = 0; ii < 4; ii++) {
                int i = gq * 4 + ii;
                float2 dtv = tDt[i][cl];
                float Bk[S], Ck[S];
                lds<S>(Bk, &fB[i][q * S]);
                lds<S>(Ck, &fC[i][q * S]);
                float acc0 = 0.f, acc1 = 0.f;
#pragma unroll
                for (int j = 0; j < S; j++) {
                    h[j] = ex2(dtv.x * a2[j]) * h[j] + dtv.y * Bk[j];
                    if (j & 1) acc1 = fmaf(h[j], Ck[j], acc1);
                    else acc0 = fmaf(h[j], Ck[j], acc0);
                }
                acc4[ii] = acc0 + acc1;
            }
            float tot = quad_transpose_sum(acc4, q);
            int i = gq * 4 + q;
            if (i < steps) {
                float out = fmaf(dskip, ldf(rU[buf][i][cl]), tot);
                if (z) {
                    float zv = ldf(rZY[buf][i][cl]);
                    out *= zv * sigmoidf(zv);
                }
                stf(&rZY[buf][i][cl], out);
            }
        }
        __syncthreads();
        if (fastCh) {
            constexpr int PER_ROW = SEQ_CH * (int)sizeof(T) / 16;
            for (int e = tid; e < steps * PER_ROW; e += SEQ_THREADS) {
                int i = e / PER_ROW, p = e % PER_ROW;
                reinterpret_cast<uint4*>(y + (seqRow + t0 + i) * ch + col0)[p] =
                    reinterpret_cast<const uint4*>(&rZY[buf][i][0])[p];
            }
        } else {
            for (int e = tid; e < steps * SEQ_CH; e += SEQ_THREADS) {
                int i = e / SEQ_CH, k = e % SEQ_CH;
                if (col0 + k < ch) y[(seqRow + t0 + i) * ch + col0 + k] = rZY[buf][i][k];
            }
        }
        __syncthreads();
        issue(tile + 2);
    }
    if (finalState && active) {
#pragma unroll
        for (int j = 0; j < S; j++)
            if (q * S + j < n) finalState[((i64)b * ch + d) * n + q * S + j] = h[j];
    }
}

#define SCAN_SEQ_VARIANT(NM, T, SUF)                                                                            \
    extern "C" __global__ void __launch_bounds__(SEQ_THREADS) scan_seq_##SUF##NM(                              \
        T* y, const T* u, const T* delta, const float* deltaBias, const float* A, const T* B, const T* C,     \
        const float* D, const T* z, const float* h0, float* finalState, float* chunkStates, int len, int ch,   \
        int n, int nChunks) {                                                                                \
        scan_seq<NM, T>(y, u, delta, deltaBias, A, B, C, D, z, h0, finalState, chunkStates, len, ch, n, nChunks); \
    }

SCAN_SEQ_VARIANT(16, float, )
SCAN_SEQ_VARIANT(16, bf16, bf16_)
