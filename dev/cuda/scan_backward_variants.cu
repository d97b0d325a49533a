// Tuning variants of the scan backward (production: core-ssm/.../cuda/scan_backward.cu), kept out of
// the build as llm.c keeps its dev/cuda kernels: the kernel as it was while its toggles were tried,
// each toggle's 1 being what production kept. Build one variant to PTX and look at its registers:
//   nvcc -arch=compute_80 -ptx -O3 -std=c++17 -DSCAN_BWD_QT=0 -o /tmp/v.ptx dev/cuda/scan_backward_variants.cu
//   nvcc -arch=sm_90 -cubin -O3 -std=c++17 -Xptxas -v -DSCAN_BWD_MINB=2 -o /tmp/v.cubin dev/cuda/scan_backward_variants.cu
// To time one, copy its kernel over production's, rebuild the PTX and run ScanBench; why production
// kept each branch is said at that branch in scan_backward.cu and in docs/design/gpu.md.
//   SCAN_BWD_QT    1: per-channel work for four steps at once after a quad transpose-reduce;
//                  0: each step's sums reduced by quad_sum on every lane
//   SCAN_BWD_MLP   1: every staged load of the chunk issued before the first use; 0: a loop in groups
//   SCAN_BWD_RED   1: du, ddelta, dz added by reductions (atomicAdd, result unused); 0: plain +=
//   SCAN_BWD_MINB  blocks per SM in __launch_bounds__ (production: 3)
#include "../../core-ssm/src/main/java/org/ssmtk/core/backend/cuda/scan_common.cuh"

#define SCAN_BWD_THREADS 128
#define SCAN_BWD_CH (SCAN_BWD_THREADS / 4)
#define SCAN_SUB 8
#ifndef SCAN_BWD_QT
#define SCAN_BWD_QT 1
#endif
#ifndef SCAN_BWD_MLP
#define SCAN_BWD_MLP 1
#endif
#ifndef SCAN_BWD_RED
#define SCAN_BWD_RED 1
#endif
#ifndef SCAN_BWD_MINB
#define SCAN_BWD_MINB 3
#endif

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
// Dynamic shared memory, in floats (production: ScanBwdSmem in scan_backward.cu):
// B and C rows 2 x SCAN_CHUNK x NMAX, five staged tiles 5 x SCAN_CHUNK x SCAN_BWD_CH, entering states
// (SCAN_CHUNK / SCAN_SUB) x (NMAX / 4) x SCAN_BWD_THREADS, dB/dC sums 2 x SCAN_SUB x SCAN_BWD_THREADS
// (double-buffered, so one barrier per sub-chunk orders both their writes and their reads).
template <int NMAX, typename TIn>
__device__ void scan_bwd(float* __restrict__ du, float* __restrict__ dDelta, float* __restrict__ dz,
                         float* __restrict__ dB, float* __restrict__ dC, float* __restrict__ partA,
                         float* __restrict__ partD, float* __restrict__ partBias, const TIn* __restrict__ dOut,
                         const TIn* __restrict__ u, const TIn* __restrict__ delta,
                         const float* __restrict__ deltaBias, const float* __restrict__ A,
                         const TIn* __restrict__ B, const TIn* __restrict__ C, const float* __restrict__ D,
                         const TIn* __restrict__ z, const float* __restrict__ chunkStates, float* lbAgg,
                         float* lbIncl, float* lbSdt, int* lbFlag, int len, int ch, int n, int nChunks) {
    constexpr int S = NMAX / 4, V = 2 * S, WARPS = SCAN_BWD_THREADS / 32, NSUB = SCAN_CHUNK / SCAN_SUB;
    constexpr int SHIFT = 5 - log2c<V>(), CH = SCAN_BWD_CH, T = SCAN_BWD_THREADS;
    extern __shared__ __align__(16) float smem[];
    __shared__ int sTicket, sFlag;
    float(*sB)[NMAX] = reinterpret_cast<float(*)[NMAX]>(smem);
    float(*sC)[NMAX] = sB + SCAN_CHUNK;
    float(*tDt)[CH] = reinterpret_cast<float(*)[CH]>(smem + 2 * SCAN_CHUNK * NMAX);
    float(*tSig)[CH] = tDt + SCAN_CHUNK;  // sigmoid(delta + bias), then ddelta
    float(*tU)[CH] = tSig + SCAN_CHUNK;   // u, then du
    float(*tDy)[CH] = tU + SCAN_CHUNK;
    float(*tDz)[CH] = tDy + SCAN_CHUNK;   // dz's factor, then dz
    float(*ckpt)[S][T] = reinterpret_cast<float(*)[S][T]>(tDz + SCAN_CHUNK);
    float(*red)[SCAN_SUB][WARPS][32] = reinterpret_cast<float(*)[SCAN_SUB][WARPS][32]>(ckpt + NSUB);

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
#if SCAN_BWD_MLP
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
#else
#pragma unroll 4
    for (int e = tid; e < SCAN_CHUNK * CH; e += T) {
        int i = e / CH, k = e % CH, dk = g * CH + k;
        float dt = 0.f, sg = 0.f, uv = 0.f, dy = 0.f, dzf = 0.f;
        if (i < steps && dk < ch) {
            i64 idx = (row0 + i) * ch + dk;
            float x = ldf(delta[idx]) + (deltaBias ? deltaBias[dk] : 0.f);
            dt = softplusf(x);
            sg = sigmoidf(x);
            uv = ldf(u[idx]);
            dy = ldf(dOut[idx]);
            if (z) {
                float zv = ldf(z[idx]), sz = sigmoidf(zv);
                dzf = dy * sz * (1.f + zv * (1.f - sz));
                dy *= zv * sz;
            }
        }
        tDt[i][k] = dt, tSig[i][k] = sg, tU[i][k] = uv, tDy[i][k] = dy, tDz[i][k] = dzf;
    }
#endif
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
#if SCAN_BWD_QT
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
#else
#pragma unroll
        for (int i = SCAN_SUB - 1; i >= 0; i--) {
            if (i < cnt) {
                int r = i0 + i;
                float dt = tDt[r][cl], uv = tU[r][cl], dy = tDy[r][cl], sg = tSig[r][cl], dzf = tDz[r][cl];
                float dtu = dt * uv;
                float Bk[S], Ck[S];
                lds<S>(Bk, &sB[r][q * S]);
                lds<S>(Ck, &sC[r][q * S]);
                // ddt = sum_k dh_k h_{k,prev} a_k A_k + u sum_k dh_k B_k and du = dt sum_k dh_k B_k share
                // the second sum, so each state costs one product less per use
                float yq = 0.f, sAq = 0.f, sBq = 0.f;
                float v[V];
#pragma unroll
                for (int j = 0; j < S; j++) {
                    float hk = hist[i + 1][j], a = decay[i][j];
                    yq = fmaf(Ck[j], hk, yq);
                    float dhk = fmaf(dy, Ck[j], dh[j]);
                    float gA = dhk * hist[i][j] * a;
                    v[S + j] = dy * hk;
                    sAq = fmaf(gA, a2[j], sAq);
                    dAacc[j] = fmaf(gA, dt, dAacc[j]);
                    v[j] = dhk * dtu;
                    sBq = fmaf(dhk, Bk[j], sBq);
                    dh[j] = dhk * a;
                }
                float sBs = quad_sum(sBq);
                float ddt = fmaf(quad_sum(sAq), 1.f / LOG2E, uv * sBs), duv = fmaf(dt, sBs, dy * dskip);
                float dDel = ddt * sg;
                dDacc += dy * uv;
                dBiasAcc += dDel;
                float dzv = z ? (quad_sum(yq) + dskip * uv) * dzf : 0.f;
                // the four lanes of this channel have read the step's slots
                __syncwarp();
                if (q == 0) tU[r][cl] = duv, tSig[r][cl] = dDel, tDz[r][cl] = dzv;
                rd[i][warp][lane] = reduce_scatter_channels<V>(v, lane);
            }
        }
#endif
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
#if SCAN_BWD_RED
            // one add per element either way (so the same bits), but a reduction is sent and not
            // waited for, where += stalls on reading the old value (a fifth of the kernel's stalls)
            atomicAdd(du + idx, tU[i][k]);
            atomicAdd(dDelta + idx, tSig[i][k]);
            if (z) atomicAdd(dz + idx, tDz[i][k]);
#else
            du[idx] += tU[i][k];
            dDelta[idx] += tSig[i][k];
            if (z) dz[idx] += tDz[i][k];
#endif
        }
    }
#if SCAN_BWD_QT
    // each lane of a channel summed a quarter of its steps (before any lane returns: full-warp shuffles)
    dDacc = quad_sum(dDacc), dBiasAcc = quad_sum(dBiasAcc);
#endif
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

#define SCAN_BWD_VARIANT(NM, T, SUF)                                                                              \
    extern "C" __global__ void __launch_bounds__(SCAN_BWD_THREADS, SCAN_BWD_MINB) scan_bwd_##SUF##NM(            \
        float* du, float* dDelta, float* dz, float* dB, float* dC, float* partA, float* partD, float* partBias,  \
        const T* dOut, const T* u, const T* delta, const float* deltaBias, const float* A, const T* B,           \
        const T* C, const float* D, const T* z, const float* chunkStates, float* lbAgg, float* lbIncl,           \
        float* lbSdt, int* lbFlag, int len, int ch, int n, int nChunks) {                                       \
        scan_bwd<NM, T>(du, dDelta, dz, dB, dC, partA, partD, partBias, dOut, u, delta, deltaBias, A, B, C, D, z, \
                        chunkStates, lbAgg, lbIncl, lbSdt, lbFlag, len, ch, n, nChunks);                        \
    }

SCAN_BWD_VARIANT(16, float, )
SCAN_BWD_VARIANT(16, bf16, bf16_)
