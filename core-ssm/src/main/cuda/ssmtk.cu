// Kernels of the cuda backend (org.ssmtk.core.backend.cuda.CudaBackend). Semantics are those of
// CpuBackend and CpuSelectiveScan*, which the GPU tests compare against. Built to PTX for
// compute_80 by scripts/build-ptx.sh; the PTX is committed so that running needs no nvcc.
//
// Every kernel takes raw device addresses (a tensor's storage base plus its element offset) and
// 64-bit element counts: a (1, 1M, 1536) activation has more elements than an int indexes in bytes.

#define LOG2E 1.4426950408889634f
#define FULL_MASK 0xffffffffu
// Time steps per kept scan state; CudaBackend.scanChunk() returns the same number and the
// backward keeps a whole chunk of recomputed states per thread, so it bounds that scratch.
#define SCAN_CHUNK 64
#define SCAN_THREADS 128

typedef long long i64;

__device__ __forceinline__ float softplusf(float x) {
    // the CPU's form max(x, 0) + log1p(exp(-|x|)): no overflow and no threshold jump
    return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x)));
}

__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

__device__ __forceinline__ i64 gtid() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 gstride() { return (i64)gridDim.x * blockDim.x; }

// ---------------------------------------------------------------- element-wise

extern "C" __global__ void fill_f32(float* p, i64 n, float v) {
    for (i64 i = gtid(); i < n; i += gstride()) p[i] = v;
}

extern "C" __global__ void add_f32(float* out, const float* a, const float* b, i64 n) {
    for (i64 i = gtid(); i < n; i += gstride()) out[i] = a[i] + b[i];
}

extern "C" __global__ void add_product_f32(float* out, const float* a, const float* b, i64 n) {
    for (i64 i = gtid(); i < n; i += gstride()) out[i] += a[i] * b[i];
}

extern "C" __global__ void scale_f32(float* p, i64 n, float f) {
    for (i64 i = gtid(); i < n; i += gstride()) p[i] *= f;
}

extern "C" __global__ void neg_exp_f32(float* out, const float* x, i64 n) {
    for (i64 i = gtid(); i < n; i += gstride()) out[i] = -expf(x[i]);
}

extern "C" __global__ void broadcast_rows(float* out, const float* row, i64 rows, int n) {
    for (i64 i = gtid(); i < rows * n; i += gstride()) out[i] = row[i % n];
}

extern "C" __global__ void add_bias_rows(float* out, const float* bias, i64 rows, int n) {
    for (i64 i = gtid(); i < rows * n; i += gstride()) out[i] += bias[i % n];
}

// Benchmark inputs drawn on the device: copying gigabytes from the JVM would dominate the run.
// A counter hash (splitmix64) gives uniform values in [lo, hi) that depend only on seed and index.
extern "C" __global__ void fill_uniform(float* p, i64 n, unsigned long long seed, float lo, float hi) {
    for (i64 i = gtid(); i < n; i += gstride()) {
        unsigned long long x = seed + 0x9E3779B97F4A7C15ull * (unsigned long long)(i + 1);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        x ^= x >> 31;
        p[i] = lo + (hi - lo) * (float)(x >> 40) * (1.f / 16777216.f);
    }
}

extern "C" __global__ void adamw_f32(float* p, const float* g, float* m, float* v, i64 n, float lr, float beta1,
                                     float beta2, float eps, float wd, float bc1, float bc2) {
    for (i64 i = gtid(); i < n; i += gstride()) {
        float gi = g[i];
        float mi = beta1 * m[i] + (1.f - beta1) * gi;
        float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float pi = p[i];
        p[i] = pi - lr * ((mi / bc1) / (sqrtf(vi / bc2) + eps) + wd * pi);
    }
}

// ---------------------------------------------------------------- reductions

template <typename T>
__device__ T block_sum(T v) {
    __shared__ T part[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads();  // part[] may still be read by a previous call
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? part[lane] : (T)0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

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

// out[j] += sum_r m[r, j] * (m2 ? m2[r, j] : 1) * (rowScale ? rowScale[r] : 1). Block (32, 8) owns 32
// columns of a slice of rows; slices meet in an atomic add, whose order does not matter at 1e-5.
extern "C" __global__ void column_sums(float* out, const float* m, const float* m2, const float* rowScale, i64 rows,
                                       int n, i64 rowsPerSlice) {
    __shared__ float acc[8][33];
    int j = blockIdx.x * 32 + threadIdx.x;
    i64 r0 = (i64)blockIdx.y * rowsPerSlice, r1 = min(rows, r0 + rowsPerSlice);
    float s = 0.f;
    if (j < n) {
        for (i64 r = r0 + threadIdx.y; r < r1; r += 8) {
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
        for (int q = 0; q < 8; q++) t += acc[q][threadIdx.x];
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

// ---------------------------------------------------------------- layers

extern "C" __global__ void embedding(float* out, const int* ids, const float* table, i64 count, int h) {
    for (i64 i = gtid(); i < count * h; i += gstride()) out[i] = table[(i64)ids[i / h] * h + i % h];
}

extern "C" __global__ void embedding_backward(float* dTable, const int* ids, const float* dOut, i64 count, int h) {
    for (i64 i = gtid(); i < count * h; i += gstride()) atomicAdd(dTable + (i64)ids[i / h] * h + i % h, dOut[i]);
}

// One block per row.
extern "C" __global__ void rms_norm(float* out, const float* x, const float* w, int h, float eps) {
    const float* xr = x + (i64)blockIdx.x * h;
    float* orow = out + (i64)blockIdx.x * h;
    float ss = 0.f;
    for (int i = threadIdx.x; i < h; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum<float>(ss);
    float inv = rsqrtf(ss / h + eps);
    for (int i = threadIdx.x; i < h; i += blockDim.x) orow[i] = w[i] * (xr[i] * inv);
}

// One block per row: dx accumulates; each row's 1/rms goes to invOut so that the weight gradient
// (a sum over rows) can follow as column_sums(dy * x * inv).
extern "C" __global__ void rms_norm_backward(float* dx, float* invOut, const float* dy, const float* x, const float* w,
                                             int h, float eps) {
    i64 base = (i64)blockIdx.x * h;
    float ss = 0.f, dot = 0.f;
    for (int i = threadIdx.x; i < h; i += blockDim.x) {
        float v = x[base + i];
        ss += v * v;
        dot += w[i] * dy[base + i] * v;
    }
    ss = block_sum<float>(ss);
    dot = block_sum<float>(dot);
    float inv = rsqrtf(ss / h + eps);
    float coef = inv * inv * inv * dot / h;
    for (int i = threadIdx.x; i < h; i += blockDim.x) dx[base + i] += inv * w[i] * dy[base + i] - coef * x[base + i];
    if (threadIdx.x == 0) invOut[blockIdx.x] = inv;
}

__device__ __forceinline__ float siluf(float v) { return v / (1.f + expf(-v)); }

extern "C" __global__ void conv1d_silu(float* out, const float* x, const float* w, const float* bias,
                                       const float* state, int batch, int len, int ch, int width) {
    i64 total = (i64)batch * len * ch;
    for (i64 i = gtid(); i < total; i += gstride()) {
        int c = (int)(i % ch);
        i64 row = i / ch;
        int b = (int)(row / len), t = (int)(row % len);
        float acc = bias ? bias[c] : 0.f;
        for (int j = 0; j < width; j++) {
            int src = t - (width - 1) + j;
            float v;
            if (src >= 0) v = x[((i64)b * len + src) * ch + c];
            else if (state) v = state[((i64)b * (width - 1) + (width - 1 + src)) * ch + c];
            else continue;
            acc += w[c * width + j] * v;
        }
        out[i] = siluf(acc);
    }
}

// After conv1d_silu: the window becomes the last width-1 inputs of (old window ++ x). One thread per
// (sequence, channel) walks the window upwards, so it reads slot j + len before anyone overwrites it.
extern "C" __global__ void conv1d_state_update(float* state, const float* x, int batch, int len, int ch, int width) {
    i64 i = gtid();
    if (i >= (i64)batch * ch) return;
    int b = (int)(i / ch), c = (int)(i % ch), keep = width - 1;
    for (int j = 0; j < keep; j++) {
        int src = len - keep + j;
        state[((i64)b * keep + j) * ch + c] =
            src >= 0 ? x[((i64)b * len + src) * ch + c] : state[((i64)b * keep + j + len) * ch + c];
    }
}

// dPre = dOut * silu'(pre), pre recomputed from a zero state (training).
extern "C" __global__ void conv1d_silu_dpre(float* dPre, const float* dOut, const float* x, const float* w,
                                            const float* bias, int batch, int len, int ch, int width) {
    i64 total = (i64)batch * len * ch;
    for (i64 i = gtid(); i < total; i += gstride()) {
        int c = (int)(i % ch);
        i64 row = i / ch;
        int b = (int)(row / len), t = (int)(row % len);
        float pre = bias ? bias[c] : 0.f;
        for (int j = 0; j < width; j++) {
            int src = t - (width - 1) + j;
            if (src >= 0) pre += w[c * width + j] * x[((i64)b * len + src) * ch + c];
        }
        float sig = sigmoidf(pre);
        dPre[i] = dOut[i] * sig * (1.f + pre * (1.f - sig));
    }
}

// dx[b, s, c] += sum_j w[c, j] dPre[b, s + width-1 - j, c]: a gather, so no two threads write one element.
extern "C" __global__ void conv1d_dx(float* dx, const float* dPre, const float* w, int batch, int len, int ch, int width) {
    i64 total = (i64)batch * len * ch;
    for (i64 i = gtid(); i < total; i += gstride()) {
        int c = (int)(i % ch);
        i64 row = i / ch;
        int b = (int)(row / len), s = (int)(row % len);
        float acc = 0.f;
        for (int j = 0; j < width; j++) {
            int t = s + (width - 1) - j;
            if (t < len) acc += w[c * width + j] * dPre[((i64)b * len + t) * ch + c];
        }
        dx[i] += acc;
    }
}

#define CONV_MAX_WIDTH 8
// Weight and bias gradients: thread per channel over a slice of rows, slices meet in atomics.
extern "C" __global__ void conv1d_dweight(float* dw, float* dBias, const float* dPre, const float* x, int batch, int len,
                                          int ch, int width, i64 rowsPerSlice) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= ch) return;
    i64 rows = (i64)batch * len;
    i64 r0 = (i64)blockIdx.y * rowsPerSlice, r1 = min(rows, r0 + rowsPerSlice);
    float acc[CONV_MAX_WIDTH];
#pragma unroll
    for (int j = 0; j < CONV_MAX_WIDTH; j++) acc[j] = 0.f;
    float db = 0.f;
    for (i64 r = r0; r < r1; r++) {
        int t = (int)(r % len);
        float dp = dPre[r * ch + c];
        db += dp;
#pragma unroll
        for (int j = 0; j < CONV_MAX_WIDTH; j++) {
            int src = t - (width - 1) + j;
            if (j < width && src >= 0) acc[j] += dp * x[(r - (width - 1) + j) * ch + c];
        }
    }
#pragma unroll
    for (int j = 0; j < CONV_MAX_WIDTH; j++)
        if (j < width) atomicAdd(dw + c * width + j, acc[j]);
    if (dBias) atomicAdd(dBias + c, db);
}

// One block per row: dLogits = scale (softmax - onehot), loss[r] = logZ - logit[target].
extern "C" __global__ void cross_entropy(const float* logits, const int* targets, int ignoreIndex, float* dLogits,
                                         float scale, double* loss, int v) {
    i64 base = (i64)blockIdx.x * v;
    int target = targets[blockIdx.x];
    if (target == ignoreIndex) {
        for (int j = threadIdx.x; j < v; j += blockDim.x) dLogits[base + j] = 0.f;
        if (threadIdx.x == 0) loss[blockIdx.x] = 0.0;
        return;
    }
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < v; j += blockDim.x) mx = fmaxf(mx, logits[base + j]);
    mx = block_max(mx);
    float s = 0.f;
    for (int j = threadIdx.x; j < v; j += blockDim.x) s += expf(logits[base + j] - mx);
    s = block_sum<float>(s);
    float logZ = mx + logf(s);
    for (int j = threadIdx.x; j < v; j += blockDim.x)
        dLogits[base + j] = scale * expf(logits[base + j] - logZ) - (j == target ? scale : 0.f);
    if (threadIdx.x == 0) loss[blockIdx.x] = (double)logZ - (double)logits[base + target];
}

// Fallback product when no cuBLAS loads: C[i, j] = alpha sum_p A(i, p) B(p, j) + beta C[i, j], all row-major
// through strides so that x W^T, dy W and dy^T x are one kernel. 16x16 shared-memory tiles.
extern "C" __global__ void gemm_strided(float* C, const float* A, const float* B, int M, int N, int K, i64 sai, i64 sap,
                                        i64 sbp, i64 sbj, float beta) {
    __shared__ float ta[16][17], tb[16][17];
    int i = blockIdx.y * 16 + threadIdx.y, j = blockIdx.x * 16 + threadIdx.x;
    float acc = 0.f;
    for (int p0 = 0; p0 < K; p0 += 16) {
        int pa = p0 + threadIdx.x, pb = p0 + threadIdx.y;
        ta[threadIdx.y][threadIdx.x] = (i < M && pa < K) ? A[i * sai + pa * sap] : 0.f;
        tb[threadIdx.y][threadIdx.x] = (pb < K && j < N) ? B[pb * sbp + j * sbj] : 0.f;
        __syncthreads();
#pragma unroll
        for (int q = 0; q < 16; q++) acc += ta[threadIdx.y][q] * tb[q][threadIdx.x];
        __syncthreads();
    }
    if (i < M && j < N) {
        i64 o = (i64)i * N + j;
        C[o] = beta == 0.f ? acc : acc + beta * C[o];
    }
}

// ---------------------------------------------------------------- selective scan
//
// One thread owns one (sequence b, chunk c of SCAN_CHUNK steps, channel d) and the whole state
// h[0..n) in registers; a warp is 32 consecutive channels, so u/delta/z/y rows are coalesced and
// B_t, C_t are warp-wide broadcasts. Chunks run in parallel, which a recurrence does not allow
// directly, so the scan is split the usual way for linear recurrences h' = P h + q:
//   1. scan_chunk_local: each chunk from a zero state gives its end state q_c and sum(dt) (so its
//      decay P_c = exp(A sum dt)),
//   2. scan_combine: per (b, d, n) one pass over chunks gives every chunk's entering state,
//   3. scan_chunk_output: each chunk again from its entering state writes y (and the final state).
// The entering states are exactly what training keeps, so (2) writes them into chunkStates.
// The backward is the same split run from the end: the adjoint dh_t = C_t dy_t + a_{t+1} dh_{t+1}
// is the same kind of recurrence, whose per-chunk carries (scan_bwd_local) are combined in reverse;
// then scan_bwd replays each chunk from its kept state and walks it back.

template <int NMAX>
__device__ __forceinline__ void load_a(float (&a2)[NMAX], const float* A, int d, int n) {
#pragma unroll
    for (int k = 0; k < NMAX; k++) a2[k] = k < n ? A[(i64)d * n + k] * LOG2E : 0.f;
}

template <int NMAX>
__device__ void scan_chunk_local(const float* __restrict__ u, const float* __restrict__ delta,
                                 const float* __restrict__ deltaBias, const float* __restrict__ A,
                                 const float* __restrict__ B, float* __restrict__ localState,
                                 float* __restrict__ sumDt, int len, int ch, int n, int nChunks) {
    int dBlocks = (ch + blockDim.x - 1) / blockDim.x;
    int c = blockIdx.x / dBlocks, d = (blockIdx.x % dBlocks) * blockDim.x + threadIdx.x, b = blockIdx.y;
    if (d >= ch) return;
    float a2[NMAX], h[NMAX];
    load_a<NMAX>(a2, A, d, n);
#pragma unroll
    for (int k = 0; k < NMAX; k++) h[k] = 0.f;
    float bias = deltaBias ? deltaBias[d] : 0.f, sdt = 0.f;
    int t0 = c * SCAN_CHUNK, t1 = min(len, t0 + SCAN_CHUNK);
    for (int t = t0; t < t1; t++) {
        i64 row = (i64)b * len + t, idx = row * ch + d;
        float dt = softplusf(delta[idx] + bias), dtu = dt * u[idx];
        sdt += dt;
        const float* Bt = B + row * n;
#pragma unroll
        for (int k = 0; k < NMAX; k++)
            if (k < n) h[k] = exp2f(dt * a2[k]) * h[k] + dtu * Bt[k];
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
                h = exp2f(a2 * sv[q]) * h + lv[q];
            }
        }
    }
}

template <int NMAX>
__device__ void scan_chunk_output(float* __restrict__ y, const float* __restrict__ u, const float* __restrict__ delta,
                                  const float* __restrict__ deltaBias, const float* __restrict__ A,
                                  const float* __restrict__ B, const float* __restrict__ C,
                                  const float* __restrict__ D, const float* __restrict__ z,
                                  const float* enter, float* finalState, int len, int ch, int n, int nChunks) {
    int dBlocks = (ch + blockDim.x - 1) / blockDim.x;
    int c = blockIdx.x / dBlocks, d = (blockIdx.x % dBlocks) * blockDim.x + threadIdx.x, b = blockIdx.y;
    if (d >= ch) return;
    float a2[NMAX], h[NMAX];
    load_a<NMAX>(a2, A, d, n);
    i64 cc = (i64)b * nChunks + c;
#pragma unroll
    for (int k = 0; k < NMAX; k++) h[k] = (enter && k < n) ? enter[(cc * ch + d) * n + k] : 0.f;
    float bias = deltaBias ? deltaBias[d] : 0.f, dskip = D ? D[d] : 0.f;
    int t0 = c * SCAN_CHUNK, t1 = min(len, t0 + SCAN_CHUNK);
    for (int t = t0; t < t1; t++) {
        i64 row = (i64)b * len + t, idx = row * ch + d;
        float uv = u[idx];
        float dt = softplusf(delta[idx] + bias), dtu = dt * uv;
        const float* Bt = B + row * n;
        const float* Ct = C + row * n;
        float acc = 0.f;
#pragma unroll
        for (int k = 0; k < NMAX; k++)
            if (k < n) {
                h[k] = exp2f(dt * a2[k]) * h[k] + dtu * Bt[k];
                acc += h[k] * Ct[k];
            }
        acc += dskip * uv;
        if (z) {
            float zv = z[idx];
            acc *= zv * sigmoidf(zv);
        }
        y[idx] = acc;
    }
    if (finalState && c == nChunks - 1) {
#pragma unroll
        for (int k = 0; k < NMAX; k++)
            if (k < n) finalState[((i64)b * ch + d) * n + k] = h[k];
    }
}

// The adjoint carry each chunk passes to the one before it when nothing comes from after it.
template <int NMAX>
__device__ void scan_bwd_local(const float* __restrict__ dOut, const float* __restrict__ delta,
                               const float* __restrict__ deltaBias, const float* __restrict__ A,
                               const float* __restrict__ C, const float* __restrict__ z,
                               float* __restrict__ localCarry, float* __restrict__ sumDt, int len, int ch, int n,
                               int nChunks) {
    int dBlocks = (ch + blockDim.x - 1) / blockDim.x;
    int c = blockIdx.x / dBlocks, d = (blockIdx.x % dBlocks) * blockDim.x + threadIdx.x, b = blockIdx.y;
    if (d >= ch) return;
    float a2[NMAX], dh[NMAX];
    load_a<NMAX>(a2, A, d, n);
#pragma unroll
    for (int k = 0; k < NMAX; k++) dh[k] = 0.f;
    float bias = deltaBias ? deltaBias[d] : 0.f, sdt = 0.f;
    int t0 = c * SCAN_CHUNK, t1 = min(len, t0 + SCAN_CHUNK);
    for (int t = t1 - 1; t >= t0; t--) {
        i64 row = (i64)b * len + t, idx = row * ch + d;
        float dy = dOut[idx];
        if (z) {
            float zv = z[idx];
            dy *= zv * sigmoidf(zv);
        }
        float dt = softplusf(delta[idx] + bias);
        sdt += dt;
        const float* Ct = C + row * n;
#pragma unroll
        for (int k = 0; k < NMAX; k++)
            if (k < n) dh[k] = (dy * Ct[k] + dh[k]) * exp2f(dt * a2[k]);
    }
    i64 cc = (i64)b * nChunks + c;
#pragma unroll
    for (int k = 0; k < NMAX; k++)
        if (k < n) localCarry[(cc * ch + d) * n + k] = dh[k];
    sumDt[cc * ch + d] = sdt;
}

// Sums V values across the warp so that each lane ends with one total (value lane / (32 / V)):
// recursive halving, V - 1 + log2(32 / V) shuffles instead of 5 V.
template <int V>
__device__ __forceinline__ float warp_reduce_scatter(float (&v)[V], int lane) {
    int m = V;
#pragma unroll
    for (int o = 16; o >= 1; o >>= 1) {
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

// Full backward of one chunk. Writes du, dDelta, dz (+=), and partial sums: dB/dC per (channel
// block, row), dA per (b, chunk, d, n), dD and dDeltaBias per (b, chunk, d); small kernels add
// those up. hist keeps the chunk's recomputed states (SCAN_CHUNK + 1) x NMAX per thread in local
// memory (L1/L2), which is the (len, d_state) slice of one channel only.
template <int NMAX>
__device__ void scan_bwd(float* __restrict__ du, float* __restrict__ dDelta, float* __restrict__ dz,
                         float* __restrict__ partBC, float* __restrict__ partA, float* __restrict__ partD,
                         float* __restrict__ partBias, const float* __restrict__ dOut, const float* __restrict__ u,
                         const float* __restrict__ delta, const float* __restrict__ deltaBias,
                         const float* __restrict__ A, const float* __restrict__ B, const float* __restrict__ C,
                         const float* __restrict__ D, const float* __restrict__ z,
                         const float* __restrict__ chunkStates, const float* __restrict__ carryIn, int len, int ch,
                         int n, int nChunks) {
    constexpr int V = 2 * NMAX;
    constexpr int WARPS = SCAN_THREADS / 32;
    __shared__ float sh[SCAN_CHUNK][WARPS][32];
    int dBlocks = (ch + blockDim.x - 1) / blockDim.x;
    int g = blockIdx.x % dBlocks;
    int c = blockIdx.x / dBlocks, d = g * blockDim.x + threadIdx.x, b = blockIdx.y;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    // channels past the end still take part in the warp sums, with zeros
    bool active = d < ch;
    int dd = active ? d : 0;
    float a2[NMAX], dh[NMAX], dAacc[NMAX];
    float hist[(SCAN_CHUNK + 1) * NMAX];
    load_a<NMAX>(a2, A, dd, n);
    i64 cc = (i64)b * nChunks + c;
    i64 sBase = (cc * ch + dd) * n;
#pragma unroll
    for (int k = 0; k < NMAX; k++) {
        hist[k] = k < n ? chunkStates[sBase + k] : 0.f;
        dh[k] = (carryIn && k < n) ? carryIn[sBase + k] : 0.f;
        dAacc[k] = 0.f;
    }
    float bias = deltaBias ? deltaBias[dd] : 0.f, dskip = D ? D[dd] : 0.f;
    int t0 = c * SCAN_CHUNK, t1 = min(len, t0 + SCAN_CHUNK);
    for (int t = t0; t < t1; t++) {
        i64 row = (i64)b * len + t, idx = row * ch + dd;
        float dt = softplusf(delta[idx] + bias), dtu = dt * u[idx];
        const float* Bt = B + row * n;
        int i = t - t0;
#pragma unroll
        for (int k = 0; k < NMAX; k++)
            hist[(i + 1) * NMAX + k] = k < n ? exp2f(dt * a2[k]) * hist[i * NMAX + k] + dtu * Bt[k] : 0.f;
    }
    float dDacc = 0.f, dBiasAcc = 0.f;
    // h_t of the step being walked stays in registers: it was h_{t-1} of the step after it
    float hcur[NMAX];
#pragma unroll
    for (int k = 0; k < NMAX; k++) hcur[k] = hist[(t1 - t0) * NMAX + k];
    for (int t = t1 - 1; t >= t0; t--) {
        i64 row = (i64)b * len + t, idx = row * ch + dd;
        int i = t - t0;
        float uv = u[idx], g0 = dOut[idx];
        float x = delta[idx] + bias;
        float dt = softplusf(x), dtu = dt * uv;
        const float* Bt = B + row * n;
        const float* Ct = C + row * n;
        float dy = g0;
        if (z) {
            float y = dskip * uv;
#pragma unroll
            for (int k = 0; k < NMAX; k++)
                if (k < n) y += Ct[k] * hcur[k];
            float zv = z[idx], sig = sigmoidf(zv), silu = zv * sig;
            if (active) dz[idx] += g0 * y * sig * (1.f + zv * (1.f - sig));
            dy = g0 * silu;
        }
        dDacc += dy * uv;
        float duv = dy * dskip, ddt = 0.f;
        float v[V];
#pragma unroll
        for (int k = 0; k < NMAX; k++) {
            if (k < n) {
                float hk = hcur[k], hPrev = hist[i * NMAX + k];
                hcur[k] = hPrev;
                float a = exp2f(dt * a2[k]);
                float bk = Bt[k];
                float dhk = dy * Ct[k] + dh[k];
                float dhPrevA = dhk * hPrev * a;
                v[NMAX + k] = dy * hk;
                ddt += dhPrevA * (a2[k] * (1.f / LOG2E)) + dhk * uv * bk;
                dAacc[k] += dhPrevA * dt;
                v[k] = dhk * dtu;
                duv += dhk * dt * bk;
                dh[k] = dhk * a;
            } else {
                v[k] = 0.f;
                v[NMAX + k] = 0.f;
            }
        }
        float dDel = ddt * sigmoidf(x);
        dBiasAcc += dDel;
        if (active) {
            dDelta[idx] += dDel;
            du[idx] += duv;
        } else {
#pragma unroll
            for (int k = 0; k < V; k++) v[k] = 0.f;
        }
        sh[i][warp][lane] = warp_reduce_scatter<V>(v, lane);
    }
    __syncthreads();
    int steps = t1 - t0;
    i64 rows = (i64)gridDim.y * len;
    for (int e = threadIdx.x; e < steps * 2 * n; e += blockDim.x) {
        int i = e / (2 * n), q = e % (2 * n);
        int slot = q < n ? q : NMAX + (q - n);
        int srcLane = slot * (32 / V);
        float s = 0.f;
#pragma unroll
        for (int w = 0; w < WARPS; w++) s += sh[i][w][srcLane];
        i64 row = (i64)b * len + t0 + i;
        partBC[((i64)g * rows + row) * 2 * n + q] = s;
    }
    if (!active) return;
#pragma unroll
    for (int k = 0; k < NMAX; k++)
        if (k < n) partA[(cc * ch + d) * n + k] = dAacc[k];
    if (partD) partD[cc * ch + d] = dDacc;
    if (partBias) partBias[cc * ch + d] = dBiasAcc;
}

// dB[row, k] += sum over channel blocks, dC likewise.
extern "C" __global__ void scan_reduce_bc(float* dB, float* dC, const float* partBC, int groups, i64 rows, int n) {
    for (i64 e = gtid(); e < rows * 2 * n; e += gstride()) {
        i64 row = e / (2 * n);
        int q = (int)(e % (2 * n));
        float s = 0.f;
        for (int g = 0; g < groups; g++) s += partBC[((i64)g * rows + row) * 2 * n + q];
        if (q < n) dB[row * n + q] += s;
        else dC[row * n + q - n] += s;
    }
}

#define SCAN_BWD(NM, SUFFIX, MINB)                                                                                   \
    extern "C" __global__ void __launch_bounds__(SCAN_THREADS, MINB) scan_bwd_##NM##SUFFIX(                         \
        float* du, float* dDelta, float* dz, float* partBC, float* partA, float* partD, float* partBias,             \
        const float* dOut, const float* u, const float* delta, const float* deltaBias, const float* A,               \
        const float* B, const float* C, const float* D, const float* z, const float* chunkStates,                    \
        const float* carryIn, int len, int ch, int n, int nChunks) {                                                 \
        scan_bwd<NM>(du, dDelta, dz, partBC, partA, partD, partBias, dOut, u, delta, deltaBias, A, B, C, D, z,         \
                     chunkStates, carryIn, len, ch, n, nChunks);                                                     \
    }

#define SCAN_ENTRIES(NM)                                                                                             \
    extern "C" __global__ void __launch_bounds__(SCAN_THREADS) scan_chunk_local_##NM(                               \
        const float* u, const float* delta, const float* deltaBias, const float* A, const float* B,                  \
        float* localState, float* sumDt, int len, int ch, int n, int nChunks) {                                       \
        scan_chunk_local<NM>(u, delta, deltaBias, A, B, localState, sumDt, len, ch, n, nChunks);                      \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(SCAN_THREADS) scan_chunk_output_##NM(                              \
        float* y, const float* u, const float* delta, const float* deltaBias, const float* A, const float* B,        \
        const float* C, const float* D, const float* z, const float* enter, float* finalState, int len, int ch,      \
        int n, int nChunks) {                                                                                        \
        scan_chunk_output<NM>(y, u, delta, deltaBias, A, B, C, D, z, enter, finalState, len, ch, n, nChunks);         \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(SCAN_THREADS) scan_bwd_local_##NM(                                 \
        const float* dOut, const float* delta, const float* deltaBias, const float* A, const float* C,               \
        const float* z, float* localCarry, float* sumDt, int len, int ch, int n, int nChunks) {                       \
        scan_bwd_local<NM>(dOut, delta, deltaBias, A, C, z, localCarry, sumDt, len, ch, n, nChunks);                  \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(SCAN_THREADS) scan_bwd_##NM(                                       \
        float* du, float* dDelta, float* dz, float* partBC, float* partA, float* partD, float* partBias,             \
        const float* dOut, const float* u, const float* delta, const float* deltaBias, const float* A,               \
        const float* B, const float* C, const float* D, const float* z, const float* chunkStates,                    \
        const float* carryIn, int len, int ch, int n, int nChunks) {                                                 \
        scan_bwd<NM>(du, dDelta, dz, partBC, partA, partD, partBias, dOut, u, delta, deltaBias, A, B, C, D, z,         \
                     chunkStates, carryIn, len, ch, n, nChunks);                                                     \
    }

SCAN_ENTRIES(4)
SCAN_ENTRIES(8)
SCAN_ENTRIES(16)

// The backward's register use limits it to two blocks per SM; these variants trade registers for
// occupancy (CudaBackend picks one by SSMTK_SCAN_BWD_BLOCKS, the benchmark compares them).
SCAN_BWD(16, _b3, 3)
SCAN_BWD(16, _b4, 4)
