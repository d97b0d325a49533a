// Kernels built on block and column reductions (ReductionKernels.java launches them): column sums
// (bias and norm-weight gradients, the scan's dA/dD/dbias partials), the global sum of squares of
// gradient clipping, RMSNorm forward and backward and the cross-entropy loss (one block per row).
#include "common.cuh"

// column_sums' block: COLSUM_COLS columns by COLSUM_ROWS row lanes
#define COLSUM_COLS 32
#define COLSUM_ROWS 8
SSMTK_EXPORT(COLSUM_COLS)
SSMTK_EXPORT(COLSUM_ROWS)

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