// Mamba-2's SSD scan and gated RMSNorm (SsdKernels.java launches them, CudaSsd.java orders them).
// The algorithm is CpuSsd's (the paper's chunked SSD) split into kernels that each own what they
// write; SsdKernelModel in the tests is a line-by-line Java transcription of every kernel below
// (same blocks, same phases, same index arithmetic), checked against CpuBackend without a GPU.
//
// Names: a call has batch sequences of len steps, heads of P channels (x, y columns h P + p), groups
// of N states (B, C columns g N + j; head h reads group h / (heads / groups)), chunks of Q steps
// (nc of them, the last one lc <= Q long). Per (row, head) scratch: w = the clamped dt, l = the
// cumulative sum of w A inside the chunk (double: the decays are exp(l_t - l_s) of differences), gw =
// d w / d(dt + bias). States (batch, nc, heads, P, N) are indexed ((b nc + c) heads + h) P N + p N + j.
#include "common.cuh"

// threads of every block-per-chunk kernel (any multiple of 32 up to 1024 works: all loops stride)
#define SSD_THREADS 256
// rows t of the forward's output per block, and rows / columns of the backward's pair kernels
#define SSD_TILE 16
#define SSD_BWD_TILE 8
#define SSD_NORM_THREADS 128
SSMTK_EXPORT(SSD_THREADS)
SSMTK_EXPORT(SSD_TILE)
SSMTK_EXPORT(SSD_BWD_TILE)
SSMTK_EXPORT(SSD_NORM_THREADS)

__device__ __forceinline__ int ssd_chunks(int len, int Q) { return (len + Q - 1) / Q; }

// CpuSsd.softplus: x itself above 20
__device__ __forceinline__ float ssd_softplus(float x) { return x > 20.f ? x : log1pf(expf(x)); }


// Sums over a warp: the dots whose operands are rows (x_s . dy_t over channels, C_t . B_s over states)
// run a warp per dot with the lanes along the row, so that each load is one coalesced row segment; a
// thread per dot would read 32 different rows per load.
__device__ __forceinline__ float ssd_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// G[tl][s] (row stride Q) = C_{r0 + tl} . B_s for the tile's rows and s <= t, 0 above: a warp per pair.
__device__ void ssd_gram_rows(float* G, const float* B, const float* C, i64 row0, int r0, int rows, int cols, int gn, int g,
                              int N, int Q) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int i = warp; i < rows * cols; i += warps) {
        int tl = i / cols, s = i % cols, t = r0 + tl;
        float acc = 0.f;
        if (s <= t) {
            const float* cr = C + (row0 + t) * gn + g * N;
            const float* br = B + (row0 + s) * gn + g * N;
            for (int j = lane; j < N; j += 32) acc += cr[j] * br[j];
            acc = ssd_warp_sum(acc);
        }
        if (lane == 0) G[tl * Q + s] = acc;
    }
}

// One thread per (sequence, chunk, head) walks its chunk: w, l and (if gw) d w / d pre.
extern "C" __global__ void ssd_time_steps(float* w, double* l, float* gw, const float* dt, const float* dtBias,
                                          const float* A, int batch, int len, int heads, int Q, float dtMin, float dtMax) {
    int nc = ssd_chunks(len, Q);
    i64 total = (i64)batch * nc * heads;
    for (i64 i = gtid(); i < total; i += gstride()) {
        int h = (int)(i % heads);
        i64 bc = i / heads;
        int c = (int)(bc % nc), b = (int)(bc / nc);
        int t0 = c * Q, lc = min(Q, len - t0);
        float bias = dtBias[h], a = A[h];
        double sum = 0;
        for (int t = 0; t < lc; t++) {
            i64 at = ((i64)b * len + t0 + t) * heads + h;
            float pre = dt[at] + bias;
            float sp = ssd_softplus(pre);
            float v = fminf(fmaxf(sp, dtMin), dtMax);
            w[at] = v;
            sum += (double)v * a;
            l[at] = sum;
            if (gw) gw[at] = sp < dtMin || sp > dtMax ? 0.f : pre > 20.f ? 1.f : (float)(1.0 / (1.0 + exp(-(double)pre)));
        }
    }
}

// Block per (sequence, chunk, head): out[p, j] = sum_s coef_s u[s, h P + p] v[s, g N + j] over the
// chunk's steps, into the chunk's slot of S. Forward (CARRY false): u = x, v = B, coef_s =
// exp(l_last - l_s) w_s, the chunk's own part of the state leaving it. Backward (CARRY true): u = dy,
// v = C, coef_t = exp(l_t), the chunk's own part of the adjoint of the state entering it.
template <bool CARRY>
__device__ void ssd_outer_sum(float* S, const float* u, const float* v, const float* w, const double* l, int len,
                              int heads, int P, int groups, int N, int Q) {
    extern __shared__ float coef[];  // Q
    int nc = ssd_chunks(len, Q);
    int h = blockIdx.x % heads, bc = blockIdx.x / heads, c = bc % nc, b = bc / nc;
    int g = h / (heads / groups), di = heads * P, gn = groups * N;
    int t0 = c * Q, lc = min(Q, len - t0);
    i64 row0 = (i64)b * len + t0;
    double last = l[(row0 + lc - 1) * heads + h];
    for (int s = threadIdx.x; s < lc; s += blockDim.x) {
        double ls = l[(row0 + s) * heads + h];
        coef[s] = CARRY ? expf((float)ls) : expf((float)(last - ls)) * w[(row0 + s) * heads + h];
    }
    __syncthreads();
    float* out = S + ((i64)bc * heads + h) * P * N;
    for (int e = threadIdx.x; e < P * N; e += blockDim.x) {
        int p = e / N, j = e % N;
        float acc = 0.f;
        for (int s = 0; s < lc; s++) {
            i64 r = row0 + s;
            acc += (coef[s] * u[r * di + h * P + p]) * v[r * gn + g * N + j];
        }
        out[e] = acc;
    }
}

extern "C" __global__ void ssd_chunk_state(float* S, const float* x, const float* B, const float* w, const double* l,
                                           int len, int heads, int P, int groups, int N, int Q) {
    ssd_outer_sum<false>(S, x, B, w, l, len, heads, P, groups, N, Q);
}

extern "C" __global__ void ssd_carry_local(float* U, const float* dy, const float* C, const double* l, int len, int heads,
                                           int P, int groups, int N, int Q) {
    ssd_outer_sum<true>(U, dy, C, nullptr, l, len, heads, P, groups, N, Q);
}

// Thread per (sequence, head, state element), chunks in order: each chunk's slot of states holds its
// own part S on entry and the state entering the chunk on exit; H <- exp(l_last) H + S. running
// (batch, heads, P, N), when given, is the state before the first chunk and receives the last one.
extern "C" __global__ void ssd_state_pass(float* states, float* running, const double* l, int batch, int len, int heads,
                                          int pn, int Q) {
    int nc = ssd_chunks(len, Q);
    i64 total = (i64)batch * heads * pn;
    for (i64 i = gtid(); i < total; i += gstride()) {
        int e = (int)(i % pn);
        i64 bh = i / pn;
        int h = (int)(bh % heads), b = (int)(bh / heads);
        float H = running ? running[i] : 0.f;
        for (int c = 0; c < nc; c++) {
            i64 at = (((i64)b * nc + c) * heads + h) * pn + e;
            float s = states[at];
            states[at] = H;
            int t0 = c * Q, lc = min(Q, len - t0);
            float decay = expf((float)l[((i64)b * len + t0 + lc - 1) * heads + h]);
            H = decay * H + s;
        }
        if (running) running[i] = H;
    }
}

// The same walk backwards for the adjoints: each chunk's slot holds its own part U on entry and the
// adjoint of the state leaving the chunk on exit; dH <- exp(l_last) dH + U going one chunk back.
extern "C" __global__ void ssd_carry_pass(float* carries, const double* l, int batch, int len, int heads, int pn, int Q) {
    int nc = ssd_chunks(len, Q);
    i64 total = (i64)batch * heads * pn;
    for (i64 i = gtid(); i < total; i += gstride()) {
        int e = (int)(i % pn);
        i64 bh = i / pn;
        int h = (int)(bh % heads), b = (int)(bh / heads);
        float dH = 0.f;
        for (int c = nc - 1; c >= 0; c--) {
            i64 at = (((i64)b * nc + c) * heads + h) * pn + e;
            float u = carries[at];
            carries[at] = dH;
            int t0 = c * Q, lc = min(Q, len - t0);
            float decay = expf((float)l[((i64)b * len + t0 + lc - 1) * heads + h]);
            dH = decay * dH + u;
        }
    }
}

// Block per (sequence, chunk, group) and tile of SSD_TILE rows t of the chunk; the group's heads one
// after another, sharing the Gram tile G[t][s] = C_t . B_s. Per head M[t][s] = G exp(l_t - l_s) w_s
// (s <= t), then y[t, p] = D x_t + sum_s M[t][s] x_s + exp(l_t) (H C_t)[p] with H the entering state
// (states may be 0: a zero state). Dynamic shared memory: 2 SSD_TILE Q floats.
extern "C" __global__ void ssd_chunk_output(float* y, const float* x, const float* B, const float* C, const float* D,
                                            const float* states, const float* w, const double* l, int len, int heads,
                                            int P, int groups, int N, int Q) {
    extern __shared__ float tile[];
    float* G = tile;
    float* M = tile + SSD_TILE * Q;
    int nc = ssd_chunks(len, Q);
    int g = blockIdx.x % groups, bc = blockIdx.x / groups, c = bc % nc, b = bc / nc;
    int t0c = c * Q, lc = min(Q, len - t0c), r0 = blockIdx.y * SSD_TILE;
    if (r0 >= lc) return;
    int r1 = min(lc, r0 + SSD_TILE), rows = r1 - r0, cols = r1;
    int hpg = heads / groups, di = heads * P, gn = groups * N;
    i64 row0 = (i64)b * len + t0c;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    ssd_gram_rows(G, B, C, row0, r0, rows, cols, gn, g, N, Q);
    __syncthreads();
    for (int hk = 0; hk < hpg; hk++) {
        int h = g * hpg + hk;
        for (int i = threadIdx.x; i < rows * cols; i += blockDim.x) {
            int tl = i / cols, s = i % cols, t = r0 + tl;
            float m = 0.f;
            if (s <= t) {
                double lt = l[(row0 + t) * heads + h], ls = l[(row0 + s) * heads + h];
                m = G[tl * Q + s] * expf((float)(lt - ls)) * w[(row0 + s) * heads + h];
            }
            M[tl * Q + s] = m;
        }
        __syncthreads();
        float dSkip = D[h];
        for (int i = threadIdx.x; i < rows * P; i += blockDim.x) {
            int tl = i / P, p = i % P, t = r0 + tl;
            i64 xt = (row0 + t) * di + h * P + p;
            float acc = dSkip * x[xt];
            for (int s = 0; s <= t; s++) acc += M[tl * Q + s] * x[(row0 + s) * di + h * P + p];
            y[xt] = acc;
        }
        if (states) {
            __syncthreads();  // the y just written gets the entering state's part: a warp per (t, p)
            const float* H0 = states + ((i64)bc * heads + h) * P * N;
            for (int i = warp; i < rows * P; i += warps) {
                int tl = i / P, p = i % P, t = r0 + tl;
                const float* cr = C + (row0 + t) * gn + g * N;
                float off = 0.f;
                for (int j = lane; j < N; j += 32) off += cr[j] * H0[p * N + j];
                off = ssd_warp_sum(off);
                if (lane == 0) y[(row0 + t) * di + h * P + p] += expf((float)l[(row0 + t) * heads + h]) * off;
            }
        }
        __syncthreads();  // M is the next head's
    }
}

// One decoding step (len 1, no kept states): block per (sequence, head), thread per channel p walks
// its row of the state: H = exp(w A) H + w x B^T, y = H C + D x. state (batch, heads, P, N) may be 0
// (a zero state, nothing kept).
extern "C" __global__ void ssd_step(float* y, float* state, const float* x, const float* dt, const float* dtBias,
                                    const float* A, const float* B, const float* C, const float* D, int heads, int P,
                                    int groups, int N, float dtMin, float dtMax) {
    int h = blockIdx.x % heads, b = blockIdx.x / heads, g = h / (heads / groups);
    int di = heads * P, gn = groups * N;
    float v = fminf(fmaxf(ssd_softplus(dt[(i64)b * heads + h] + dtBias[h]), dtMin), dtMax);
    float decay = expf(v * A[h]);
    const float* br = B + (i64)b * gn + g * N;
    const float* cr = C + (i64)b * gn + g * N;
    for (int p = threadIdx.x; p < P; p += blockDim.x) {
        float xv = x[(i64)b * di + h * P + p], wx = v * xv, acc = 0.f;
        float* st = state ? state + ((i64)b * heads + h) * P * N + (i64)p * N : nullptr;
        for (int j = 0; j < N; j++) {
            float hv = (st ? decay * st[j] : 0.f) + wx * br[j];
            if (st) st[j] = hv;
            acc += hv * cr[j];
        }
        y[(i64)b * di + h * P + p] = acc + D[h] * xv;
    }
}

// ---- backward: ssd_time_steps (with gw), ssd_carry_local + ssd_carry_pass (carries = the adjoint of
// ---- the state leaving each chunk), ssd_bwd_rows, ssd_bwd_cols, ssd_bwd_finish.
// Per chunk and head, with E[t][s] = exp(l_t - l_s), G = C_t . B_s, M = G E w_s, dM = dy_t . x_s,
// dG = dM E w_s (s <= t), q_s = exp(l_last - l_s) w_s, carry = dH_out and H0 the kept entering state:
//   dC_t += sum_s dG[t][s] B_s + exp(l_t) dy_t^T H0                  (rows)
//   dB_s += sum_t dG[t][s] C_t + q_s x_s^T carry                     (columns)
//   dx_s += D dy_s + sum_t M[t][s] dy_t + q_s carry B_s              (columns)
//   dl_t  = exp(l_t) dy_t . (H0 C_t) + sum_s dM M                    (rows)
//         - sum_t' dM[t'][t] M[t'][t] - dq_t q_t,  dq_s = x_s . (carry B_s)   (columns)
//   dl_last += exp(l_last) <carry, H0> + sum_s dq_s q_s,  dw_s = sum_t dM G E + exp(l_last - l_s) dq_s
// then d(w A) is the reverse cumulative sum of dl (l_t = sum_{k<=t} w_k A), which gives d dt, dA.

// Block per (sequence, chunk, group) and tile of SSD_BWD_TILE rows t: dC of those rows (the group's
// heads summed in the block, so no atomics) and dl (=) of every (row, head). Dynamic shared memory:
// SSD_BWD_TILE doubles, then 2 SSD_BWD_TILE Q + SSD_BWD_TILE N floats.
extern "C" __global__ void ssd_bwd_rows(float* dC, double* dl, const float* dy, const float* x, const float* B,
                                        const float* C, const float* states, const float* w, const double* l, int len,
                                        int heads, int P, int groups, int N, int Q) {
    extern __shared__ double shd[];
    double* dlRow = shd;
    float* G = (float*)(shd + SSD_BWD_TILE);
    float* dG = G + SSD_BWD_TILE * Q;
    float* acc = dG + SSD_BWD_TILE * Q;
    int nc = ssd_chunks(len, Q);
    int g = blockIdx.x % groups, bc = blockIdx.x / groups, c = bc % nc, b = bc / nc;
    int t0c = c * Q, lc = min(Q, len - t0c), r0 = blockIdx.y * SSD_BWD_TILE;
    if (r0 >= lc) return;
    int r1 = min(lc, r0 + SSD_BWD_TILE), rows = r1 - r0, cols = r1;
    int hpg = heads / groups, di = heads * P, gn = groups * N;
    i64 row0 = (i64)b * len + t0c;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    ssd_gram_rows(G, B, C, row0, r0, rows, cols, gn, g, N, Q);
    for (int i = threadIdx.x; i < rows * N; i += blockDim.x) acc[i] = 0.f;
    for (int hk = 0; hk < hpg; hk++) {
        int h = g * hpg + hk;
        if (threadIdx.x < rows) dlRow[threadIdx.x] = 0.0;
        __syncthreads();
        // a warp per pair (t, s): dM = dy_t . x_s along the channels
        for (int i = warp; i < rows * cols; i += warps) {
            int tl = i / cols, s = i % cols, t = r0 + tl;
            float dg = 0.f;
            if (s <= t) {
                const float* dyr = dy + (row0 + t) * di + h * P;
                const float* xr = x + (row0 + s) * di + h * P;
                float dm = 0.f;
                for (int p = lane; p < P; p += 32) dm += dyr[p] * xr[p];
                dm = ssd_warp_sum(dm);
                double lt = l[(row0 + t) * heads + h], ls = l[(row0 + s) * heads + h];
                float e = expf((float)(lt - ls)), ws = w[(row0 + s) * heads + h];
                float m = G[tl * Q + s] * e * ws;
                dg = dm * e * ws;
                if (lane == 0) atomicAdd(&dlRow[tl], (double)dm * m);
            }
            if (lane == 0) dG[tl * Q + s] = dg;
        }
        // a warp per (t, p): (H0 C_t)[p] along the states
        const float* H0 = states + ((i64)bc * heads + h) * P * N;
        for (int i = warp; i < rows * P; i += warps) {
            int tl = i / P, p = i % P, t = r0 + tl;
            const float* cr = C + (row0 + t) * gn + g * N;
            float hc = 0.f;
            for (int j = lane; j < N; j += 32) hc += cr[j] * H0[p * N + j];
            hc = ssd_warp_sum(hc);
            float et = expf((float)l[(row0 + t) * heads + h]);
            if (lane == 0) atomicAdd(&dlRow[tl], (double)et * dy[(row0 + t) * di + h * P + p] * hc);
        }
        __syncthreads();
        for (int i = threadIdx.x; i < rows * N; i += blockDim.x) {
            int tl = i / N, j = i % N, t = r0 + tl;
            float a = 0.f;
            for (int s = 0; s <= t; s++) a += dG[tl * Q + s] * B[(row0 + s) * gn + g * N + j];
            float hs = 0.f;
            for (int p = 0; p < P; p++) hs += dy[(row0 + t) * di + h * P + p] * H0[p * N + j];
            acc[i] += a + expf((float)l[(row0 + t) * heads + h]) * hs;
        }
        if (threadIdx.x < rows) dl[(row0 + r0 + threadIdx.x) * heads + h] = dlRow[threadIdx.x];
        __syncthreads();  // dlRow and dG are the next head's
    }
    for (int i = threadIdx.x; i < rows * N; i += blockDim.x) {
        int tl = i / N, j = i % N;
        dC[(row0 + r0 + tl) * gn + g * N + j] += acc[i];
    }
}

// Block per (sequence, chunk, group) and tile of SSD_BWD_TILE columns s: dx and dB of those rows,
// dw (=), dl (+=, after ssd_bwd_rows) and dqq = dq_s q_s (=) of every (row, head). Dynamic shared
// memory: 3 SSD_BWD_TILE doubles, then 3 SSD_BWD_TILE Q + SSD_BWD_TILE N floats.
extern "C" __global__ void ssd_bwd_cols(float* dx, float* dB, double* dl, double* dw, double* dqq, const float* dy,
                                        const float* x, const float* B, const float* C, const float* D,
                                        const float* carries, const float* w, const double* l, int len, int heads, int P,
                                        int groups, int N, int Q) {
    extern __shared__ double shd[];
    double* dlCol = shd;
    double* dwS = shd + SSD_BWD_TILE;
    double* dqS = shd + 2 * SSD_BWD_TILE;
    float* G = (float*)(shd + 3 * SSD_BWD_TILE);
    float* M = G + SSD_BWD_TILE * Q;
    float* dG = M + SSD_BWD_TILE * Q;
    float* acc = dG + SSD_BWD_TILE * Q;
    int nc = ssd_chunks(len, Q);
    int g = blockIdx.x % groups, bc = blockIdx.x / groups, c = bc % nc, b = bc / nc;
    int t0c = c * Q, lc = min(Q, len - t0c), c0 = blockIdx.y * SSD_BWD_TILE;
    if (c0 >= lc) return;
    int ncols = min(lc, c0 + SSD_BWD_TILE) - c0;
    int hpg = heads / groups, di = heads * P, gn = groups * N;
    i64 row0 = (i64)b * len + t0c;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    // G[sl][t] = C_t . B_s for t >= s: a warp per pair
    for (int i = warp; i < ncols * lc; i += warps) {
        int sl = i / lc, t = i % lc, s = c0 + sl;
        float a = 0.f;
        if (t >= s) {
            const float* cr = C + (row0 + t) * gn + g * N;
            const float* br = B + (row0 + s) * gn + g * N;
            for (int j = lane; j < N; j += 32) a += cr[j] * br[j];
            a = ssd_warp_sum(a);
        }
        if (lane == 0) G[sl * Q + t] = a;
    }
    for (int i = threadIdx.x; i < ncols * N; i += blockDim.x) acc[i] = 0.f;
    for (int hk = 0; hk < hpg; hk++) {
        int h = g * hpg + hk;
        if (threadIdx.x < ncols) dlCol[threadIdx.x] = dwS[threadIdx.x] = dqS[threadIdx.x] = 0.0;
        __syncthreads();
        double lLast = l[(row0 + lc - 1) * heads + h];
        // a warp per pair (t, s): dM = dy_t . x_s along the channels
        for (int i = warp; i < ncols * lc; i += warps) {
            int sl = i / lc, t = i % lc, s = c0 + sl;
            float m = 0.f, dg = 0.f;
            if (t >= s) {
                const float* dyr = dy + (row0 + t) * di + h * P;
                const float* xr = x + (row0 + s) * di + h * P;
                float dm = 0.f;
                for (int p = lane; p < P; p += 32) dm += dyr[p] * xr[p];
                dm = ssd_warp_sum(dm);
                double lt = l[(row0 + t) * heads + h], ls = l[(row0 + s) * heads + h];
                float e = expf((float)(lt - ls)), ws = w[(row0 + s) * heads + h], gts = G[sl * Q + t];
                m = gts * e * ws;
                dg = dm * e * ws;
                if (lane == 0) {
                    atomicAdd(&dwS[sl], (double)dm * gts * e);
                    atomicAdd(&dlCol[sl], (double)dm * m);
                }
            }
            if (lane == 0) {
                M[sl * Q + t] = m;
                dG[sl * Q + t] = dg;
            }
        }
        __syncthreads();
        const float* carry = carries + ((i64)bc * heads + h) * P * N;
        float dSkip = D[h];
        for (int i = threadIdx.x; i < ncols * P; i += blockDim.x) {
            int sl = i / P, p = i % P, s = c0 + sl;
            i64 xs = (row0 + s) * di + h * P + p;
            float a = dSkip * dy[xs];
            for (int t = s; t < lc; t++) a += M[sl * Q + t] * dy[(row0 + t) * di + h * P + p];
            dx[xs] += a;
        }
        __syncthreads();  // the dx just written gets the carry's part: a warp per (s, p), v = carry[p] . B_s
        for (int i = warp; i < ncols * P; i += warps) {
            int sl = i / P, p = i % P, s = c0 + sl;
            i64 xs = (row0 + s) * di + h * P + p;
            const float* br = B + (row0 + s) * gn + g * N;
            float v = 0.f;
            for (int j = lane; j < N; j += 32) v += carry[p * N + j] * br[j];
            v = ssd_warp_sum(v);
            if (lane == 0) {
                double ls = l[(row0 + s) * heads + h];
                float qs = expf((float)(lLast - ls)) * w[(row0 + s) * heads + h];
                atomicAdd(&dqS[sl], (double)x[xs] * v);
                dx[xs] += qs * v;
            }
        }
        for (int i = threadIdx.x; i < ncols * N; i += blockDim.x) {
            int sl = i / N, j = i % N, s = c0 + sl;
            float a = 0.f;
            for (int t = s; t < lc; t++) a += dG[sl * Q + t] * C[(row0 + t) * gn + g * N + j];
            float cx = 0.f;
            for (int p = 0; p < P; p++) cx += x[(row0 + s) * di + h * P + p] * carry[p * N + j];
            double ls = l[(row0 + s) * heads + h];
            float qs = expf((float)(lLast - ls)) * w[(row0 + s) * heads + h];
            acc[i] += a + qs * cx;
        }
        __syncthreads();
        if (threadIdx.x < ncols) {
            int s = c0 + threadIdx.x;
            i64 at = (row0 + s) * heads + h;
            float decay = expf((float)(lLast - l[at])), qs = decay * w[at];
            double dq = dqS[threadIdx.x];
            dw[at] = dwS[threadIdx.x] + dq * decay;
            dl[at] += -dlCol[threadIdx.x] - dq * qs;
            dqq[at] = dq * qs;
        }
        __syncthreads();  // the per-column sums and tiles are the next head's
    }
    for (int i = threadIdx.x; i < ncols * N; i += blockDim.x) {
        int sl = i / N, j = i % N;
        dB[(row0 + c0 + sl) * gn + g * N + j] += acc[i];
    }
}

// Block per (sequence, chunk, head): <carry, H0>, dD's and the dq q sum's parts, then one thread walks
// the chunk backwards: d dt (+=) and this chunk's parts of dA, dD, d dt_bias into part* (batch nc, heads).
extern "C" __global__ void ssd_bwd_finish(float* dDt, float* partA, float* partD, float* partBias, const double* dl,
                                          const double* dw, const double* dqq, const float* dy, const float* x,
                                          const float* states, const float* carries, const float* w, const float* gw,
                                          const double* l, const float* A, int len, int heads, int P, int N, int Q) {
    int nc = ssd_chunks(len, Q);
    int h = blockIdx.x % heads, bc = blockIdx.x / heads, c = bc % nc, b = bc / nc;
    int t0 = c * Q, lc = min(Q, len - t0), di = heads * P;
    i64 row0 = (i64)b * len + t0;
    const float* h0 = states + ((i64)bc * heads + h) * P * N;
    const float* carry = carries + ((i64)bc * heads + h) * P * N;
    double held = 0, dD = 0, dqSum = 0;
    for (int e = threadIdx.x; e < P * N; e += blockDim.x) held += (double)carry[e] * h0[e];
    for (int i = threadIdx.x; i < lc * P; i += blockDim.x) {
        int t = i / P, p = i % P;
        i64 at = (row0 + t) * di + h * P + p;
        dD += (double)dy[at] * x[at];
    }
    for (int s = threadIdx.x; s < lc; s += blockDim.x) dqSum += dqq[(row0 + s) * heads + h];
    held = block_sum<double>(held);
    dD = block_sum<double>(dD);
    dqSum = block_sum<double>(dqSum);
    if (threadIdx.x != 0) return;
    double extra = exp(l[(row0 + lc - 1) * heads + h]) * held + dqSum;
    double da = 0, dA = 0, dBias = 0, a = A[h];
    for (int t = lc - 1; t >= 0; t--) {
        i64 at = (row0 + t) * heads + h;
        da += dl[at] + (t == lc - 1 ? extra : 0.0);
        dA += da * w[at];
        double dPre = (dw[at] + da * a) * gw[at];
        dDt[at] += (float)dPre;
        dBias += dPre;
    }
    partA[blockIdx.x] = (float)dA;
    partD[blockIdx.x] = (float)dD;
    partBias[blockIdx.x] = (float)dBias;
}

// ---- gated RMSNorm (CpuGatedRmsNorm): g = x silu(z), out = w g / sqrt(mean_group(g^2) + eps).
// Block per (row, group) of gs features.

extern "C" __global__ void gated_rms_norm(float* out, const float* x, const float* z, const float* w, int width, int gs,
                                          float eps) {
    i64 base = (i64)blockIdx.x * width + (i64)blockIdx.y * gs;
    const float* wg = w + (i64)blockIdx.y * gs;
    double ss = 0;
    for (int i = threadIdx.x; i < gs; i += blockDim.x) {
        float g = x[base + i] * siluf(z[base + i]);
        ss += (double)g * g;
    }
    ss = block_sum<double>(ss);
    float inv = (float)(1.0 / sqrt(ss / gs + eps));
    for (int i = threadIdx.x; i < gs; i += blockDim.x) out[base + i] = wg[i] * (x[base + i] * siluf(z[base + i]) * inv);
}

// dx, dz (+=); gn = g / rms (=), whose column sums against dOut are the weight's gradient.
extern "C" __global__ void gated_rms_norm_backward(float* dx, float* dz, float* gn, const float* dOut, const float* x,
                                                   const float* z, const float* w, int width, int gs, float eps) {
    i64 base = (i64)blockIdx.x * width + (i64)blockIdx.y * gs;
    const float* wg = w + (i64)blockIdx.y * gs;
    double ss = 0, dot = 0;
    for (int i = threadIdx.x; i < gs; i += blockDim.x) {
        float zv = z[base + i], s = sigmoidf(zv), g = x[base + i] * zv * s;
        ss += (double)g * g;
        dot += (double)dOut[base + i] * wg[i] * g;
    }
    ss = block_sum<double>(ss);
    dot = block_sum<double>(dot);
    double inv = 1.0 / sqrt(ss / gs + eps), coef = inv * inv * inv * dot / gs;
    for (int i = threadIdx.x; i < gs; i += blockDim.x) {
        float zv = z[base + i], s = sigmoidf(zv), xv = x[base + i], g = xv * zv * s, gy = dOut[base + i];
        gn[base + i] = (float)(g * inv);
        double dGate = inv * wg[i] * gy - coef * g;
        dx[base + i] += (float)(dGate * zv * s);
        dz[base + i] += (float)(dGate * xv * s * (1.f + zv * (1.f - s)));
    }
}
