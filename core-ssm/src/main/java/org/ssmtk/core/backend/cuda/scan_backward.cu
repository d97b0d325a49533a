// The selective scan's backward (ScanBackwardKernels.java launches it): one kernel, scan_bwd, for
// d_state padded to 4, 8 or 16 and fp32 or bf16 inputs. Its tuning variants (staging loads in
// groups, a per-step walk without the quad transpose, += instead of reductions, other register
// bounds) live in dev/cuda/scan_backward_variants.cu, outside the build.
#include "scan_common.cuh"

// Four lanes per channel, 32 channels per block, history replayed SCAN_SUB steps at a time; the
// shared memory (ScanBwdSmem: 72 KiB at d_state 16) allows three blocks per SM, which SCAN_BWD_MINB
// makes the register bound too.
#define SCAN_BWD_THREADS 128
#define SCAN_BWD_CH (SCAN_BWD_THREADS / 4)
#define SCAN_SUB 8
#define SCAN_BWD_MINB 3
SSMTK_EXPORT(SCAN_CHUNK)
SSMTK_EXPORT(SCAN_BWD_THREADS)
SSMTK_EXPORT(SCAN_BWD_CH)

__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(FULL_MASK, x, 1);
    return x + __shfl_xor_sync(FULL_MASK, x, 2);
}

// Sums V values over the warp's channels (lane bits 2..4; bits 0..1 are the four lanes of one
// channel) by recursive halving: lane ends with the total of value (lane >> 2) >> (3 - log2 V) of
// its own quarter, V - 1 shuffles where a plain reduction would take 3 V.
template <int V>
__device__ __forceinline__ float reduce_scatter_channels(float (&v)[V], int lane) {
    int m = V;
#pragma unroll
    for (int o = 16; o >= 4; o >>= 1) {
        if (m > 1) {
            bool upper = (lane & o) != 0;
#pragma unroll
            for (int i = 0; i < V / 2; i++) {
                if (i < m / 2) {
                    float send = upper ? v[i] : v[i + m / 2];
                    float keep = upper ? v[i + m / 2] : v[i];
                    v[i] = keep + __shfl_xor_sync(FULL_MASK, send, o);
                }
            }
            m >>= 1;
        } else {
            v[0] += __shfl_xor_sync(FULL_MASK, v[0], o);
        }
    }
    return v[0];
}

template <int V>
__host__ __device__ constexpr int log2c() { return V <= 1 ? 0 : 1 + log2c<V / 2>(); }

// scan_bwd's dynamic shared memory, offsets in floats: the chunk's B and C rows (SCAN_CHUNK x NMAX
// each), five staged (step, channel) tiles (SCAN_CHUNK x SCAN_BWD_CH each: dt, sigmoid, u, gated dy,
// dz's factor), the states entering each sub-chunk ((SCAN_CHUNK / SCAN_SUB) x (NMAX / 4) x
// SCAN_BWD_THREADS), and the dB/dC sums (2 x SCAN_SUB x SCAN_BWD_THREADS, double-buffered so that
// one barrier per sub-chunk orders both their writes and their reads). The entries export
// 4 * FLOATS as ssmtk_SCAN_BWD_SMEM_BYTES_<NMAX>, which is what the launcher asks for.
template <int NMAX>
struct ScanBwdSmem {
    static constexpr int ROWS_B = 0;
    static constexpr int ROWS_C = ROWS_B + SCAN_CHUNK * NMAX;
    static constexpr int TILES = ROWS_C + SCAN_CHUNK * NMAX;
    static constexpr int CKPT = TILES + 5 * SCAN_CHUNK * SCAN_BWD_CH;
    static constexpr int RED = CKPT + (SCAN_CHUNK / SCAN_SUB) * (NMAX / 4) * SCAN_BWD_THREADS;
    static constexpr int FLOATS = RED + 2 * SCAN_SUB * SCAN_BWD_THREADS;
};
static_assert(4 * ScanBwdSmem<16>::FLOATS == 72 * 1024, "the comment above SCAN_BWD_THREADS");

// Full backward of one chunk for SCAN_BWD_CH channels. Four lanes share a channel, each holding
// S = NMAX / 4 of its states, so that the replayed history of a sub-chunk of SCAN_SUB steps fits in
// registers. The block first stages the chunk's per-(step, channel) inputs in shared memory in one
// coalesced sweep with every load in flight at once (dt, sigmoid of the softplus input, u, the
// gated dy and dz's factor, each computed once rather than per lane and per pass), replays the
// chunk from its kept state leaving the state entering every sub-chunk in shared memory, then takes
// sub-chunks last to first, each replayed into registers and walked back. du, ddelta and dz go back
// into the slots their step's inputs came from and are added to memory in one coalesced sweep at
// the end. Sums over the state (y, du, ddelta) are two shuffles; dB/dC are summed over the warp's 8
// channels by recursive halving, over the block's warps through shared memory after each sub-chunk,
// and over channel blocks by atomic adds into dB/dC (a partial buffer per channel block was 48 x the
// size of dB and dC, written and read again by a second kernel). Padded channels stage zeros, so
// everything they add is zero. dA goes per (b, chunk, d, n), dD and dDeltaBias per (b, chunk, d).
//
// The adjoint entering a chunk from the later ones comes from a decoupled look-back rather than a
// separate pass over dy, delta, z and C: the first replay already has each step's decay, so it also
// sums the chunk's own carry psi = sum_t dy_t C_t prod_{s<=t} exp(dt_s A) (the carry from a zero
// adjoint) and its sum of dt; the block publishes (psi, sum dt) with flag 1, walks the later chunks'
// publications (flag 1: fold in and keep going; flag 2: their full carry, stop), and publishes its own
// full carry psi + exp(A sum dt) carryIn with flag 2. Blocks take chunks last to first by an atomic
// ticket, so every chunk a block waits for belongs to a block that is already running.
// Dynamic shared memory: ScanBwdSmem above, whose size the launcher reads from the PTX.
template <int NMAX, typename TIn>
__device__ void scan_bwd(float* __restrict__ du, float* __restrict__ dDelta, float* __restrict__ dz,
                         bf16* __restrict__ dDelta16, bf16* __restrict__ dz16, int overwrite,
                         float* __restrict__ dB, float* __restrict__ dC, float* __restrict__ partA,
                         float* __restrict__ partD, float* __restrict__ partBias, const TIn* __restrict__ dOut,
                         const TIn* __restrict__ u, const TIn* __restrict__ delta,
                         const float* __restrict__ deltaBias, const float* __restrict__ A,
                         const TIn* __restrict__ B, const TIn* __restrict__ C, const float* __restrict__ D,
                         const TIn* __restrict__ z, const float* __restrict__ chunkStates, float* lbAgg,
                         float* lbIncl, float* lbSdt, int* lbFlag, int len, int ch, int n, int nChunks) {
    constexpr int S = NMAX / 4, V = 2 * S, WARPS = SCAN_BWD_THREADS / 32;
    constexpr int SHIFT = 5 - log2c<V>(), CH = SCAN_BWD_CH, T = SCAN_BWD_THREADS;
    extern __shared__ __align__(16) float smem[];
    __shared__ int sTicket, sFlag;
    using L = ScanBwdSmem<NMAX>;
    float(*sB)[NMAX] = reinterpret_cast<float(*)[NMAX]>(smem + L::ROWS_B);
    float(*sC)[NMAX] = reinterpret_cast<float(*)[NMAX]>(smem + L::ROWS_C);
    float(*tDt)[CH] = reinterpret_cast<float(*)[CH]>(smem + L::TILES);
    float(*tSig)[CH] = tDt + SCAN_CHUNK;  // sigmoid(delta + bias), then ddelta
    float(*tU)[CH] = tSig + SCAN_CHUNK;   // u, then du
    float(*tDy)[CH] = tU + SCAN_CHUNK;
    float(*tDz)[CH] = tDy + SCAN_CHUNK;   // dz's factor, then dz
    float(*ckpt)[S][T] = reinterpret_cast<float(*)[S][T]>(smem + L::CKPT);
    float(*red)[SCAN_SUB][WARPS][32] = reinterpret_cast<float(*)[SCAN_SUB][WARPS][32]>(smem + L::RED);

    int gBlocks = (ch + CH - 1) / CH, batch = gridDim.y;
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, q = lane & 3, cl = tid >> 2;
    if (tid == 0) sTicket = atomicAdd(lbFlag, 1);
    __syncthreads();
    int ticket = sTicket;
    int g = ticket % gBlocks, b = (ticket / gBlocks) % batch, c = nChunks - 1 - ticket / (gBlocks * batch);
    int* flags = lbFlag + 1;
    i64 blk = ((i64)b * nChunks + c) * gBlocks + g;
    int d = g * CH + cl;
    bool active = d < ch;
    int dd = active ? d : 0;
    int t0 = c * SCAN_CHUNK, steps = min(len, t0 + SCAN_CHUNK) - t0;
    i64 row0 = (i64)b * len + t0;
    stage_rows<NMAX>(sB, B, row0, steps, n);
    stage_rows<NMAX>(sC, C, row0, steps, n);
    // every load of the chunk is issued before the first use: one memory round trip, not one per
    // unrolled group (the stage was the largest stall of the kernel)
    {
        constexpr int PER = SCAN_CHUNK * CH / T;
        TIn rDel[PER], rU[PER], rDy[PER], rZ[PER];
        float rBias[PER];
#pragma unroll
        for (int p = 0; p < PER; p++) {
            int e = tid + p * T, i = e / CH, dk = g * CH + e % CH;
            bool ok = i < steps && dk < ch;
            i64 idx = (row0 + i) * ch + (ok ? dk : 0);
            rDel[p] = ok ? delta[idx] : zeroOf<TIn>();
            rU[p] = ok ? u[idx] : zeroOf<TIn>();
            rDy[p] = ok ? dOut[idx] : zeroOf<TIn>();
            rZ[p] = ok && z ? z[idx] : zeroOf<TIn>();
            rBias[p] = ok && deltaBias ? deltaBias[dk] : 0.f;
        }
#pragma unroll
        for (int p = 0; p < PER; p++) {
            int e = tid + p * T, i = e / CH, k = e % CH, dk = g * CH + k;
            float dt = 0.f, sg = 0.f, uv = 0.f, dy = 0.f, dzf = 0.f;
            if (i < steps && dk < ch) {
                float x = ldf(rDel[p]) + rBias[p];
                dt = softplusf(x);
                sg = sigmoidf(x);
                uv = ldf(rU[p]);
                dy = ldf(rDy[p]);
                if (z) {
                    float zv = ldf(rZ[p]), sz = sigmoidf(zv);
                    dzf = dy * sz * (1.f + zv * (1.f - sz));
                    dy *= zv * sz;
                }
            }
            tDt[i][k] = dt, tSig[i][k] = sg, tU[i][k] = uv, tDy[i][k] = dy, tDz[i][k] = dzf;
        }
    }
    float a2[S], h[S], dh[S], dAacc[S], psi[S], pc[S];
    i64 cc = (i64)b * nChunks + c;
    i64 sBase = (cc * ch + dd) * n;
#pragma unroll
    for (int j = 0; j < S; j++) {
        int k = q * S + j;
        bool in = k < n;
        a2[j] = in ? A[(i64)dd * n + k] * LOG2E : 0.f;
        h[j] = in ? chunkStates[sBase + k] : 0.f;
        dAacc[j] = 0.f, psi[j] = 0.f, pc[j] = 1.f;
    }
    float dskip = D ? D[dd] : 0.f, sdt = 0.f;
    __syncthreads();
#pragma unroll 4
    for (int i = 0; i < steps; i++) {
        if (i % SCAN_SUB == 0) {
#pragma unroll
            for (int j = 0; j < S; j++) ckpt[i / SCAN_SUB][j][tid] = h[j];
        }
        float dt = tDt[i][cl], dtu = dt * tU[i][cl], dy = tDy[i][cl];
        sdt += dt;
        float Bk[S], Ck[S];
        lds<S>(Bk, &sB[i][q * S]);
        lds<S>(Ck, &sC[i][q * S]);
#pragma unroll
        for (int j = 0; j < S; j++) {
            float a = ex2(dt * a2[j]);
            h[j] = a * h[j] + dtu * Bk[j];
            pc[j] *= a;
            psi[j] = fmaf(dy * Ck[j], pc[j], psi[j]);
        }
    }
    // ---- look-back: dh = the adjoint arriving from chunks c+1 .. nChunks-1
    {
        float* agg = lbAgg + blk * T * S;
        float* incl = lbIncl + blk * T * S;
#pragma unroll
        for (int j = 0; j < S; j++) dh[j] = 0.f;
        if (c == nChunks - 1) {
#pragma unroll
            for (int j = 0; j < S; j++) incl[j * T + tid] = psi[j];
        } else {
#pragma unroll
            for (int j = 0; j < S; j++) agg[j * T + tid] = psi[j];
            if (q == 0) lbSdt[blk * CH + cl] = sdt;
        }
        __threadfence();
        __syncthreads();
        if (tid == 0) atomicExch(&flags[blk], c == nChunks - 1 ? 2 : 1);
        if (c < nChunks - 1) {
            float mul[S];
#pragma unroll
            for (int j = 0; j < S; j++) mul[j] = 1.f;
            i64 other = blk + gBlocks;
            for (int cj = c + 1; cj < nChunks; cj++, other += gBlocks) {
                if (tid == 0) {
                    int f;
                    while ((f = *reinterpret_cast<volatile int*>(&flags[other])) == 0) {}
                    sFlag = f;
                }
                __syncthreads();
                int f = sFlag;
                __threadfence();
                if (f == 2) {
#pragma unroll
                    for (int j = 0; j < S; j++) dh[j] = fmaf(mul[j], __ldcg(lbIncl + other * T * S + j * T + tid), dh[j]);
                } else {
                    float od = __ldcg(lbSdt + other * CH + cl);
#pragma unroll
                    for (int j = 0; j < S; j++) {
                        dh[j] = fmaf(mul[j], __ldcg(lbAgg + other * T * S + j * T + tid), dh[j]);
                        mul[j] *= ex2(a2[j] * od);
                    }
                }
                __syncthreads();  // sFlag is read by all before the next poll overwrites it
                if (f == 2) break;
            }
#pragma unroll
            for (int j = 0; j < S; j++) incl[j * T + tid] = fmaf(pc[j], dh[j], psi[j]);
            __threadfence();
            __syncthreads();
            if (tid == 0) atomicExch(&flags[blk], 2);
        }
    }
    float dDacc = 0.f, dBiasAcc = 0.f;
    for (int s = (steps - 1) / SCAN_SUB; s >= 0; s--) {
        int i0 = s * SCAN_SUB, cnt = min(SCAN_SUB, steps - i0);
        float(*rd)[WARPS][32] = red[s & 1];
        // hist[i] is the state entering step i0 + i
        // decay[i] is step i0 + i's exp(dt A), kept for the walk back
        float hist[SCAN_SUB + 1][S], decay[SCAN_SUB][S];
#pragma unroll
        for (int j = 0; j < S; j++) hist[0][j] = ckpt[s][j][tid];
#pragma unroll
        for (int i = 0; i < SCAN_SUB; i++) {
            if (i < cnt) {
                float dt = tDt[i0 + i][cl], dtu = dt * tU[i0 + i][cl];
                float Bk[S];
                lds<S>(Bk, &sB[i0 + i][q * S]);
#pragma unroll
                for (int j = 0; j < S; j++) {
                    decay[i][j] = ex2(dt * a2[j]);
                    hist[i + 1][j] = decay[i][j] * hist[i][j] + dtu * Bk[j];
                }
            }
        }
        // The per-channel scalar work (ddt, du, ddelta, dz and the D/bias sums) is done for four steps
        // at once, each lane of a channel taking one step: the three state sums of four steps are
        // reduced and transposed across the quad in three shuffles per sum instead of eight.
#pragma unroll
        for (int gq = SCAN_SUB / 4 - 1; gq >= 0; gq--) {
            float sA4[4], sB4[4], y4[4], myDt = 0.f, myU = 0.f, myDy = 0.f;
#pragma unroll
            for (int ii = 3; ii >= 0; ii--) {
                int i = gq * 4 + ii;
                sA4[ii] = 0.f, sB4[ii] = 0.f, y4[ii] = 0.f;
                if (i < cnt) {
                    int r = i0 + i;
                    float dt = tDt[r][cl], uv = tU[r][cl], dy = tDy[r][cl];
                    float dtu = dt * uv;
                    if (q == ii) myDt = dt, myU = uv, myDy = dy;
                    float Bk[S], Ck[S];
                    lds<S>(Bk, &sB[r][q * S]);
                    lds<S>(Ck, &sC[r][q * S]);
                    float yq = 0.f, sAq = 0.f, sBq = 0.f;
                    float v[V];
#pragma unroll
                    for (int j = 0; j < S; j++) {
                        float hk = hist[i + 1][j];
                        yq = fmaf(Ck[j], hk, yq);
                        float dhk = fmaf(dy, Ck[j], dh[j]);
                        float w = dhk * decay[i][j];
                        float gA = w * hist[i][j];
                        v[S + j] = dy * hk;
                        sAq = fmaf(gA, a2[j], sAq);
                        dAacc[j] = fmaf(gA, dt, dAacc[j]);
                        v[j] = dhk * dtu;
                        sBq = fmaf(dhk, Bk[j], sBq);
                        dh[j] = w;
                    }
                    sA4[ii] = sAq, sB4[ii] = sBq, y4[ii] = yq;
                    rd[i][warp][lane] = reduce_scatter_channels<V>(v, lane);
                }
            }
            float sAs = quad_transpose_sum(sA4, q), sBs = quad_transpose_sum(sB4, q);
            float yS = z ? quad_transpose_sum(y4, q) : 0.f;
            int i = gq * 4 + q;
            // the four lanes of this channel have read the group's slots
            __syncwarp();
            if (i < cnt) {
                int r = i0 + i;
                float sg = tSig[r][cl], dzf = tDz[r][cl];
                float ddt = fmaf(sAs, 1.f / LOG2E, myU * sBs), duv = fmaf(myDt, sBs, myDy * dskip);
                float dDel = ddt * sg;
                dDacc += myDy * myU;
                dBiasAcc += dDel;
                float dzv = z ? (yS + dskip * myU) * dzf : 0.f;
                tU[r][cl] = duv, tSig[r][cl] = dDel, tDz[r][cl] = dzv;
            }
        }
        // red[s & 1] is complete after this barrier; red[(s - 1) & 1] is next written only after the
        // next sub-chunk's walk, which every thread starts after finishing the sums below
        __syncthreads();
        for (int e = tid; e < cnt * 2 * n; e += T) {
            int i = e / (2 * n), qq = e % (2 * n);
            int k = qq < n ? qq : qq - n;
            int slot = (qq < n ? 0 : S) + k % S;
            int srcLane = (slot << SHIFT) | (k / S);
            float sum = 0.f;
#pragma unroll
            for (int w = 0; w < WARPS; w++) sum += rd[i][w][srcLane];
            atomicAdd((qq < n ? dB : dC) + (row0 + i0 + i) * n + k, sum);
        }
    }
    __syncthreads();
#pragma unroll 4
    for (int e = tid; e < steps * CH; e += T) {
        int i = e / CH, k = e % CH, dk = g * CH + k;
        if (dk < ch) {
            i64 idx = (row0 + i) * ch + dk;
            // one add per element either way (so the same bits), but a reduction is sent and not
            // waited for, where += stalls on reading the old value (a fifth of the kernel's stalls).
            // overwrite's bits (du 1, dDelta 2, dz 4): that gradient was all zeros (a deferred fill,
            // bf16 only), so it is stored (0 + v is v) without the memset, and dDelta16, dz16 (if
            // not null, only then) take it rounded to bf16 for the product that reads it next
            if (overwrite & 1) du[idx] = tU[i][k];
            else atomicAdd(du + idx, tU[i][k]);
            if (overwrite & 2) dDelta[idx] = tSig[i][k];
            else atomicAdd(dDelta + idx, tSig[i][k]);
            if (dDelta16) stf(dDelta16 + idx, tSig[i][k]);
            if (z) {
                if (overwrite & 4) dz[idx] = tDz[i][k];
                else atomicAdd(dz + idx, tDz[i][k]);
                if (dz16) stf(dz16 + idx, tDz[i][k]);
            }
        }
    }
    // each lane of a channel summed a quarter of its steps (before any lane returns: full-warp shuffles)
    dDacc = quad_sum(dDacc), dBiasAcc = quad_sum(dBiasAcc);
    if (!active) return;
#pragma unroll
    for (int j = 0; j < S; j++) {
        int k = q * S + j;
        if (k < n) partA[(cc * ch + d) * n + k] = dAacc[j];
    }
    if (q == 0) {
        if (partD) partD[cc * ch + d] = dDacc;
        if (partBias) partBias[cc * ch + d] = dBiasAcc;
    }
}

#define SCAN_BACKWARD_ENTRY(NM, T, SUF)                                                                                \
    extern "C" __global__ void __launch_bounds__(SCAN_BWD_THREADS, SCAN_BWD_MINB) scan_bwd_##SUF##NM(                 \
        float* du, float* dDelta, float* dz, bf16* dDelta16, bf16* dz16, int overwrite, float* dB, float* dC,         \
        float* partA, float* partD, float* partBias,                                                                 \
        const T* dOut, const T* u, const T* delta, const float* deltaBias, const float* A, const T* B, const T* C,     \
        const float* D, const T* z, const float* chunkStates, float* lbAgg, float* lbIncl, float* lbSdt, int* lbFlag, \
        int len, int ch, int n, int nChunks) {                                                                       \
        scan_bwd<NM, T>(du, dDelta, dz, dDelta16, dz16, overwrite, dB, dC, partA, partD, partBias, dOut, u, delta,   \
                        deltaBias, A, B, C, D, z, chunkStates, lbAgg, lbIncl, lbSdt, lbFlag, len, ch, n, nChunks);    \
    }

// fp32 entries (the Backend's): scan_bwd_4, _8, _16; bf16 inputs: scan_bwd_bf16_4, _8, _16
SCAN_BACKWARD_ENTRY(4, float, )
SCAN_BACKWARD_ENTRY(8, float, )
SCAN_BACKWARD_ENTRY(16, float, )
SCAN_BACKWARD_ENTRY(4, bf16, bf16_)
SCAN_BACKWARD_ENTRY(8, bf16, bf16_)
SCAN_BACKWARD_ENTRY(16, bf16, bf16_)

// the dynamic shared memory each instance is launched with (both input types share a layout)
SSMTK_EXPORT_AS(SCAN_BWD_SMEM_BYTES_4, 4 * ScanBwdSmem<4>::FLOATS)
SSMTK_EXPORT_AS(SCAN_BWD_SMEM_BYTES_8, 4 * ScanBwdSmem<8>::FLOATS)
SSMTK_EXPORT_AS(SCAN_BWD_SMEM_BYTES_16, 4 * ScanBwdSmem<16>::FLOATS)
