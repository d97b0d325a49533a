// The selective scan's forward (ScanForwardKernels.java launches it): the chunked kernels for narrow
// batches and the one-pass kernel for wide ones, each for d_state padded to 4, 8 or 16 and for fp32
// or bf16 inputs.
#include "scan_common.cuh"

// the chunked kernels' block: one thread per channel
#define SCAN_THREADS 128
SSMTK_EXPORT(SCAN_CHUNK)
SSMTK_EXPORT(SCAN_THREADS)

// ---------------------------------------------------------------- selective scan
//
// Forward: one thread owns one (sequence b, chunk c of SCAN_CHUNK steps, channel d) and the whole
// state h[0..n) in registers; a warp is 32 consecutive channels, so u/delta/z/y rows are coalesced.
// B and C rows are the same for every channel of a sequence, so a block stages its chunk's rows in
// shared memory once (16-byte loads) and every thread reads them as broadcasts. Chunks run in
// parallel, which a recurrence does not allow directly, so the scan is split the usual way for
// linear recurrences h' = P h + q:
//   1. scan_chunk_local: each chunk from a zero state gives its end state q_c and sum(dt) (so its
//      decay P_c = exp(A sum dt)),
//   2. scan_combine: per (b, d, n) one pass over chunks gives every chunk's entering state,
//   3. scan_chunk_output: each chunk again from its entering state writes y (and the final state).
// The entering states are exactly what training keeps, so (2) writes them into chunkStates.
// The backward is the same split run from the end: the adjoint dh_t = C_t dy_t + a_{t+1} dh_{t+1}
// is the same kind of recurrence; scan_bwd gets each chunk's carry from the later chunks by a
// decoupled look-back, replays the chunk from its kept state and walks it back.
//
// Staged B/C rows are zero past n and A's padding is zero, so padded states stay exactly zero
// (exp2(0) h + 0 B) and add nothing to y: the inner loops need no k < n tests.

template <int NMAX, typename T>
__device__ void scan_chunk_local(const T* __restrict__ u, const T* __restrict__ delta,
                                 const float* __restrict__ deltaBias, const float* __restrict__ A,
                                 const T* __restrict__ B, float* __restrict__ localState,
                                 float* __restrict__ sumDt, int len, int ch, int n, int nChunks) {
    __shared__ __align__(16) float sB[SCAN_CHUNK][NMAX];
    int dBlocks = (ch + blockDim.x - 1) / blockDim.x;
    int c = blockIdx.x / dBlocks, d = (blockIdx.x % dBlocks) * blockDim.x + threadIdx.x, b = blockIdx.y;
    int t0 = c * SCAN_CHUNK, steps = min(len, t0 + SCAN_CHUNK) - t0;
    i64 row0 = (i64)b * len + t0;
    stage_rows<NMAX>(sB, B, row0, steps, n);
    __syncthreads();
    if (d >= ch) return;
    float a2[NMAX], h[NMAX];
    load_a<NMAX>(a2, A, d, n);
#pragma unroll
    for (int k = 0; k < NMAX; k++) h[k] = 0.f;
    float bias = deltaBias ? deltaBias[d] : 0.f, sdt = 0.f;
    const T* up = u + row0 * ch + d;
    const T* dp = delta + row0 * ch + d;
#pragma unroll 4
    for (int i = 0; i < steps; i++) {
        float dt = softplusf(ldf(dp[(i64)i * ch]) + bias), dtu = dt * ldf(up[(i64)i * ch]);
        sdt += dt;
        float Bt[NMAX];
        lds<NMAX>(Bt, sB[i]);
#pragma unroll
        for (int k = 0; k < NMAX; k++) h[k] = ex2(dt * a2[k]) * h[k] + dtu * Bt[k];
    }
    i64 cc = (i64)b * nChunks + c;
#pragma unroll
    for (int k = 0; k < NMAX; k++)
        if (k < n) localState[(cc * ch + d) * n + k] = h[k];
    sumDt[cc * ch + d] = sdt;
}

// Per (b, d, k): out[c] = state entering chunk c (forward) or the adjoint carried into chunk c from
// later chunks (reverse), then state = exp(A sum dt_c) state + local_c. Loads go in groups of 8 so
// that the serial chain does not wait on one memory round trip per chunk.
extern "C" __global__ void scan_combine(const float* __restrict__ local, const float* __restrict__ sumDt,
                                        const float* __restrict__ A, const float* __restrict__ h0,
                                        float* __restrict__ out, int ch, int n, int nChunks, int reverse) {
    int i = blockIdx.x * blockDim.x + threadIdx.x, b = blockIdx.y;
    if (i >= ch * n) return;
    int d = i / n;
    float a2 = A[i] * LOG2E;
    float h = h0 ? h0[(i64)b * ch * n + i] : 0.f;
    for (int s0 = 0; s0 < nChunks; s0 += 8) {
        float lv[8], sv[8];
#pragma unroll
        for (int q = 0; q < 8; q++) {
            int s = s0 + q;
            if (s < nChunks) {
                i64 cc = (i64)b * nChunks + (reverse ? nChunks - 1 - s : s);
                lv[q] = local[cc * ch * n + i];
                sv[q] = sumDt[cc * ch + d];
            }
        }
#pragma unroll
        for (int q = 0; q < 8; q++) {
            int s = s0 + q;
            if (s < nChunks) {
                i64 cc = (i64)b * nChunks + (reverse ? nChunks - 1 - s : s);
                out[cc * ch * n + i] = h;
                h = ex2(a2 * sv[q]) * h + lv[q];
            }
        }
    }
}

template <int NMAX, typename T>
__device__ void scan_chunk_output(T* __restrict__ y, const T* __restrict__ u, const T* __restrict__ delta,
                                  const float* __restrict__ deltaBias, const float* __restrict__ A,
                                  const T* __restrict__ B, const T* __restrict__ C,
                                  const float* __restrict__ D, const T* __restrict__ z,
                                  const float* enter, float* finalState, int len, int ch, int n, int nChunks) {
    __shared__ __align__(16) float sB[SCAN_CHUNK][NMAX];
    __shared__ __align__(16) float sC[SCAN_CHUNK][NMAX];
    int dBlocks = (ch + blockDim.x - 1) / blockDim.x;
    int c = blockIdx.x / dBlocks, d = (blockIdx.x % dBlocks) * blockDim.x + threadIdx.x, b = blockIdx.y;
    int t0 = c * SCAN_CHUNK, steps = min(len, t0 + SCAN_CHUNK) - t0;
    i64 row0 = (i64)b * len + t0;
    stage_rows<NMAX>(sB, B, row0, steps, n);
    stage_rows<NMAX>(sC, C, row0, steps, n);
    __syncthreads();
    if (d >= ch) return;
    float a2[NMAX], h[NMAX];
    load_a<NMAX>(a2, A, d, n);
    i64 cc = (i64)b * nChunks + c;
    // enter and finalState may be one buffer (decoding's state, one chunk): all reads come first
#pragma unroll
    for (int k = 0; k < NMAX; k++) h[k] = (enter && k < n) ? enter[(cc * ch + d) * n + k] : 0.f;
    float bias = deltaBias ? deltaBias[d] : 0.f, dskip = D ? D[d] : 0.f;
    const T* up = u + row0 * ch + d;
    const T* dp = delta + row0 * ch + d;
    const T* zp = z ? z + row0 * ch + d : nullptr;
    T* yp = y + row0 * ch + d;
#pragma unroll 4
    for (int i = 0; i < steps; i++) {
        i64 o = (i64)i * ch;
        float uv = ldf(up[o]);
        float dt = softplusf(ldf(dp[o]) + bias), dtu = dt * uv;
        float zv = zp ? ldf(zp[o]) : 0.f;
        float Bt[NMAX], Ct[NMAX];
        lds<NMAX>(Bt, sB[i]);
        lds<NMAX>(Ct, sC[i]);
        // two partial sums halve the dependent add chain
        float acc0 = 0.f, acc1 = 0.f;
#pragma unroll
        for (int k = 0; k < NMAX; k++) {
            h[k] = ex2(dt * a2[k]) * h[k] + dtu * Bt[k];
            if (k & 1) acc1 += h[k] * Ct[k];
            else acc0 += h[k] * Ct[k];
        }
        float acc = acc0 + acc1 + dskip * uv;
        if (zp) acc *= zv * sigmoidf(zv);
        stf(yp + o, acc);
    }
    if (finalState && c == nChunks - 1) {
#pragma unroll
        for (int k = 0; k < NMAX; k++)
            if (k < n) finalState[((i64)b * ch + d) * n + k] = h[k];
    }
}

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
// (dev/cuda/scan_forward_variants.cu keeps the tile length and the exact softplus as tuning toggles)
#define SEQ_TILE 32
#define SEQ_CH 32
#define SEQ_THREADS (SEQ_CH * 4)
SSMTK_EXPORT(SEQ_CH)
SSMTK_EXPORT(SEQ_THREADS)

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
__device__ void scan_seq(T* __restrict__ y, unsigned short* __restrict__ y16, const T* __restrict__ u, const T* __restrict__ delta,
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
                float dt = softplus_fast(x);
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
        // y16 (fp32 y only; null: none): y rounded to bf16 as well, for the out_proj product that
        // reads it next (--precision bf16), 8-byte aligned on the fast path (ch a multiple of 4)
        if (fastCh) {
            constexpr int PER_ROW = SEQ_CH * (int)sizeof(T) / 16;
            for (int e = tid; e < steps * PER_ROW; e += SEQ_THREADS) {
                int i = e / PER_ROW, p = e % PER_ROW;
                uint4 v = reinterpret_cast<const uint4*>(&rZY[buf][i][0])[p];
                reinterpret_cast<uint4*>(y + (seqRow + t0 + i) * ch + col0)[p] = v;
                if constexpr (sizeof(T) == 4) {
                    if (y16) {
                        unsigned int lo, hi;
                        asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(lo) : "f"(__uint_as_float(v.y)), "f"(__uint_as_float(v.x)));
                        asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(hi) : "f"(__uint_as_float(v.w)), "f"(__uint_as_float(v.z)));
                        reinterpret_cast<uint2*>(y16 + (seqRow + t0 + i) * ch + col0)[p] = make_uint2(lo, hi);
                    }
                }
            }
        } else {
            for (int e = tid; e < steps * SEQ_CH; e += SEQ_THREADS) {
                int i = e / SEQ_CH, k = e % SEQ_CH;
                if (col0 + k < ch) {
                    y[(seqRow + t0 + i) * ch + col0 + k] = rZY[buf][i][k];
                    if (y16) stf(reinterpret_cast<bf16*>(y16) + (seqRow + t0 + i) * ch + col0 + k, ldf(rZY[buf][i][k]));
                }
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

#define SCAN_FORWARD_ENTRIES_T(NM, T, SUF)                                                                                           \
    extern "C" __global__ void __launch_bounds__(SCAN_THREADS) scan_chunk_local_##SUF##NM(                               \
        const T* u, const T* delta, const float* deltaBias, const float* A, const T* B,                  \
        float* localState, float* sumDt, int len, int ch, int n, int nChunks) {                                       \
        scan_chunk_local<NM, T>(u, delta, deltaBias, A, B, localState, sumDt, len, ch, n, nChunks);                      \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(SCAN_THREADS) scan_chunk_output_##SUF##NM(                              \
        T* y, const T* u, const T* delta, const float* deltaBias, const float* A, const T* B,        \
        const T* C, const float* D, const T* z, const float* enter, float* finalState, int len, int ch,      \
        int n, int nChunks) {                                                                                        \
        scan_chunk_output<NM, T>(y, u, delta, deltaBias, A, B, C, D, z, enter, finalState, len, ch, n, nChunks);         \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(SEQ_THREADS) scan_seq_##SUF##NM(                                      \
        T* y, unsigned short* y16, const T* u, const T* delta, const float* deltaBias, const float* A, const T* B,     \
        const T* C, const float* D, const T* z, const float* h0, float* finalState, float* chunkStates, int len,      \
        int ch, int n, int nChunks) {                                                                                \
        scan_seq<NM, T>(y, y16, u, delta, deltaBias, A, B, C, D, z, h0, finalState, chunkStates, len, ch, n, nChunks);  \
    }

// fp32 entries (the Backend's): scan_chunk_local_16 ...; bf16 inputs (and y): scan_chunk_local_bf16_16 ...
#define SCAN_FORWARD_ENTRIES(NM) SCAN_FORWARD_ENTRIES_T(NM, float, ) SCAN_FORWARD_ENTRIES_T(NM, bf16, bf16_)

SCAN_FORWARD_ENTRIES(4)
SCAN_FORWARD_ENTRIES(8)
SCAN_FORWARD_ENTRIES(16)
