// Kernels of the cuda backend (org.ssmtk.core.backend.cuda.CudaBackend). Semantics are those of
// CpuBackend and CpuSelectiveScan*, which the GPU tests compare against. Built to PTX for
// compute_80 by scripts/build-ptx.sh; the PTX is committed so that running needs no nvcc.
//
// Every kernel takes raw device addresses (a tensor's storage base plus its element offset) and
// 64-bit element counts: a (1, 1M, 1536) activation has more elements than an int indexes in bytes.

#define LOG2E 1.4426950408889634f
#define FULL_MASK 0xffffffffu
// Time steps per kept scan state; CudaBackend.scanChunk() returns the same number and the
// backward replays a chunk from its kept state, so it bounds the work of one block.
#define SCAN_CHUNK 64
#define SCAN_THREADS 128
// The backward: four lanes per channel, 32 channels per block, history replayed SCAN_SUB steps at
// a time; its shared memory (68 KB at d_state 16) allows three blocks per SM, which SCAN_BWD_MINB
// makes the register bound too.
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

typedef long long i64;

__device__ __forceinline__ float softplusf(float x) {
    // the CPU's form max(x, 0) + log1p(exp(-|x|)): no overflow and no threshold jump
    return fmaxf(x, 0.f) + log1pf(expf(-fabsf(x)));
}

// 2^x on the special-function unit alone: exp2f adds a denormal rescue around it (several more
// instructions per state and step), and the decays it would rescue are under 1e-38.
__device__ __forceinline__ float ex2(float x) {
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
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

// bf16 operands for the mixed-precision products (CudaBackend's --precision bf16): round to nearest
// even, as torch.autocast does, so that the error stays an unbiased half ulp of bf16. The fp32
// source may be a row view at any 4-byte offset; the bf16 destination is a fresh scratch buffer
// (256-byte aligned), so only the source decides between 16-byte and single loads.
__device__ __forceinline__ unsigned int bf16x2(float lo, float hi) {
    unsigned int r;
    // cvt.rn.bf16x2.f32 puts its first source in the upper half: the element at the higher address
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

extern "C" __global__ void f32_to_bf16(unsigned short* __restrict__ out, const float* __restrict__ in, i64 n) {
    if (((unsigned long long)in & 15) == 0) {
        i64 quads = n >> 2;
        const float4* in4 = (const float4*)in;
        uint2* out4 = (uint2*)out;
        for (i64 i = gtid(); i < quads; i += gstride()) {
            float4 v = in4[i];
            out4[i] = make_uint2(bf16x2(v.x, v.y), bf16x2(v.z, v.w));
        }
        for (i64 i = (quads << 2) + gtid(); i < n; i += gstride()) {
            unsigned short h;
            asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(in[i]));
            out[i] = h;
        }
    } else {
        for (i64 i = gtid(); i < n; i += gstride()) {
            unsigned short h;
            asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(in[i]));
            out[i] = h;
        }
    }
}

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

// bf16-input variants (benchmark and parity test only, not the Backend): the scan templates take
// their per-step inputs as T = float or bf16; ldf widens to fp32 in registers, so the state, the
// arithmetic and the gradients stay fp32 and the two variants are one source.
struct __align__(2) bf16 {
    unsigned short v;
};
__device__ __forceinline__ float ldf(float x) { return x; }
__device__ __forceinline__ float ldf(bf16 x) { return __uint_as_float((unsigned int)x.v << 16); }
__device__ __forceinline__ void stf(float* p, float v) { *p = v; }
__device__ __forceinline__ void stf(bf16* p, float v) {
    unsigned short h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(v));
    p->v = h;
}

template <typename T>
__device__ __forceinline__ T zeroOf();
template <>
__device__ __forceinline__ float zeroOf<float>() { return 0.f; }
template <>
__device__ __forceinline__ bf16 zeroOf<bf16>() { bf16 b; b.v = 0; return b; }

extern "C" __global__ void bf16_to_f32(float* __restrict__ out, const bf16* __restrict__ in, i64 n) {
    for (i64 i = gtid(); i < n; i += gstride()) out[i] = ldf(in[i]);
}

template <int NMAX>
__device__ __forceinline__ void load_a(float (&a2)[NMAX], const float* A, int d, int n) {
#pragma unroll
    for (int k = 0; k < NMAX; k++) a2[k] = k < n ? A[(i64)d * n + k] * LOG2E : 0.f;
}

// Rows row0 .. row0+steps of a (rows, n) matrix into dst[steps][NMAX], zero-padded past n.
template <int NMAX, typename T>
__device__ __forceinline__ void stage_rows(float (*dst)[NMAX], const T* __restrict__ src, i64 row0, int steps,
                                           int n) {
    const T* s = src + row0 * n;
    if constexpr (sizeof(T) == 2) {
        if (n == NMAX && (reinterpret_cast<unsigned long long>(s) & 7) == 0) {
            // four bf16 (8 bytes) in, four floats (16 bytes) out
            const uint2* s4 = reinterpret_cast<const uint2*>(s);
            float4* d4 = reinterpret_cast<float4*>(&dst[0][0]);
            for (int e = threadIdx.x; e < steps * NMAX / 4; e += blockDim.x) {
                uint2 x = s4[e];
                d4[e] = make_float4(__uint_as_float(x.x << 16), __uint_as_float(x.x & 0xffff0000u),
                                    __uint_as_float(x.y << 16), __uint_as_float(x.y & 0xffff0000u));
            }
            return;
        }
        for (int e = threadIdx.x; e < steps * NMAX; e += blockDim.x) {
            int i = e / NMAX, k = e % NMAX;
            dst[i][k] = k < n ? ldf(s[(i64)i * n + k]) : 0.f;
        }
        return;
    } else if (n == NMAX && (reinterpret_cast<unsigned long long>(s) & 15) == 0) {
        const float4* s4 = reinterpret_cast<const float4*>(s);
        float4* d4 = reinterpret_cast<float4*>(&dst[0][0]);
        for (int e = threadIdx.x; e < steps * NMAX / 4; e += blockDim.x) d4[e] = s4[e];
    } else {
        for (int e = threadIdx.x; e < steps * NMAX; e += blockDim.x) {
            int i = e / NMAX, k = e % NMAX;
            dst[i][k] = k < n ? s[(i64)i * n + k] : 0.f;
        }
    }
}

// S consecutive floats of shared memory, 16-byte aligned when S is 4 (8 bytes when 2).
template <int S>
__device__ __forceinline__ void lds(float (&v)[S], const float* p) {
    if constexpr (S % 4 == 0) {
#pragma unroll
        for (int j = 0; j < S; j += 4) {
            float4 x = *reinterpret_cast<const float4*>(p + j);
            v[j] = x.x, v[j + 1] = x.y, v[j + 2] = x.z, v[j + 3] = x.w;
        }
    } else if constexpr (S == 2) {
        float2 x = *reinterpret_cast<const float2*>(p);
        v[0] = x.x, v[1] = x.y;
    } else {
#pragma unroll
        for (int j = 0; j < S; j++) v[j] = p[j];
    }
}

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

__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(FULL_MASK, x, 1);
    return x + __shfl_xor_sync(FULL_MASK, x, 2);
}

// x[0..4) summed over the four lanes of a quad; lane q gets the sum of x[q].
__device__ __forceinline__ float quad_transpose_sum(float (&x)[4], int q) {
    bool up = (q & 2) != 0;
    float k0 = up ? x[2] : x[0], k1 = up ? x[3] : x[1];
    float s0 = up ? x[0] : x[2], s1 = up ? x[1] : x[3];
    k0 += __shfl_xor_sync(FULL_MASK, s0, 2);
    k1 += __shfl_xor_sync(FULL_MASK, s1, 2);
    bool u1 = (q & 1) != 0;
    float k = u1 ? k1 : k0, snd = u1 ? k0 : k1;
    return k + __shfl_xor_sync(FULL_MASK, snd, 1);
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
// Dynamic shared memory, in floats (CudaBackend.scanBwdSharedBytes computes the same):
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

#define SCAN_ENTRIES_T(NM, T, SUF)                                                                                             \
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
        T* y, const T* u, const T* delta, const float* deltaBias, const float* A, const T* B, const T* C,             \
        const float* D, const T* z, const float* h0, float* finalState, float* chunkStates, int len, int ch, int n,   \
        int nChunks) {                                                                                               \
        scan_seq<NM, T>(y, u, delta, deltaBias, A, B, C, D, z, h0, finalState, chunkStates, len, ch, n, nChunks);       \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(SCAN_BWD_THREADS, SCAN_BWD_MINB) scan_bwd_##SUF##NM(                    \
        float* du, float* dDelta, float* dz, float* dB, float* dC, float* partA, float* partD, float* partBias,       \
        const T* dOut, const T* u, const T* delta, const float* deltaBias, const float* A,               \
        const T* B, const T* C, const float* D, const T* z, const float* chunkStates, float* lbAgg,      \
        float* lbIncl, float* lbSdt, int* lbFlag, int len, int ch, int n, int nChunks) {                             \
        scan_bwd<NM, T>(du, dDelta, dz, dB, dC, partA, partD, partBias, dOut, u, delta, deltaBias, A, B, C, D, z,         \
                     chunkStates, lbAgg, lbIncl, lbSdt, lbFlag, len, ch, n, nChunks);                                \
    }

// fp32 entries (the Backend's): scan_chunk_local_16 ...; bf16 inputs (and y): scan_chunk_local_bf16_16 ...
#define SCAN_ENTRIES(NM) SCAN_ENTRIES_T(NM, float, ) SCAN_ENTRIES_T(NM, bf16, bf16_)

SCAN_ENTRIES(4)
SCAN_ENTRIES(8)
SCAN_ENTRIES(16)
