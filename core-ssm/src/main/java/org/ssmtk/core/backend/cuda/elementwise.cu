// Grid-stride element-wise kernels (ElementwiseKernels.java launches them): arithmetic on whole
// tensors, the embedding gather and its scatter-add, AdamW, device-side uniform fills, and the
// fp32 <-> bf16 conversions of the mixed-precision products and the bf16 scan. None depends on the
// block size; the launcher picks enough blocks to fill the device.
#include "common.cuh"
#include "multi_tensor.cuh"

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

// One parameter's AdamW update, gi the (clipped) gradient: adamw_f32 and adamw_multi share it. Every
// operation is written out rounded (no fused multiply-add), in the CPU's order: both kernels and
// CpuBackend give the same bits whatever the compiler would contract.
__device__ __forceinline__ void adam_update(float* p, float* m, float* v, i64 i, float gi, float lr, float beta1,
                                            float beta2, float eps, float wd, float bc1, float bc2) {
    float mi = __fadd_rn(__fmul_rn(beta1, m[i]), __fmul_rn(1.f - beta1, gi));
    float vi = __fadd_rn(__fmul_rn(beta2, v[i]), __fmul_rn(__fmul_rn(1.f - beta2, gi), gi));
    m[i] = mi;
    v[i] = vi;
    float pi = p[i];
    float step = __fadd_rn(__fdiv_rn(__fdiv_rn(mi, bc1), __fadd_rn(__fsqrt_rn(__fdiv_rn(vi, bc2)), eps)), __fmul_rn(wd, pi));
    p[i] = __fsub_rn(pi, __fmul_rn(lr, step));
}

extern "C" __global__ void adamw_f32(float* p, const float* g, float* m, float* v, i64 n, float lr, float beta1,
                                     float beta2, float eps, float wd, float bc1, float bc2) {
    for (i64 i = gtid(); i < n; i += gstride()) adam_update(p, m, v, i, g[i], lr, beta1, beta2, eps, wd, bc1, bc2);
}

// AdamW over every tensor of the table, one block per chunk, the gradient times gradScale (the
// clipping factor, folded in here rather than written back to the gradients: the same float product).
extern "C" __global__ void adamw_multi(const TensorChunks* ts, int count, float gradScale, float lr, float beta1,
                                       float beta2, float eps, float bc1, float bc2) {
    const TensorChunks t = ts[tensor_of_block(ts, count, blockIdx.x)];
    i64 start = ((i64)blockIdx.x - t.first) * MULTI_CHUNK, end = min(t.n, start + MULTI_CHUNK);
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x)
        adam_update(t.p, t.m, t.v, i, __fmul_rn(t.g[i], gradScale), lr, beta1, beta2, eps, t.wd, bc1, bc2);
}

// Zeroes every tensor of the table (TensorChunks.p), one block per chunk: the gradients of a step in
// one launch rather than a memset per tensor.
extern "C" __global__ void zero_multi(const TensorChunks* ts, int count) {
    const TensorChunks t = ts[tensor_of_block(ts, count, blockIdx.x)];
    i64 start = ((i64)blockIdx.x - t.first) * MULTI_CHUNK, end = min(t.n, start + MULTI_CHUNK);
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) t.p[i] = 0.f;
}

extern "C" __global__ void embedding(float* out, const int* ids, const float* table, i64 count, int h) {
    for (i64 i = gtid(); i < count * h; i += gstride()) out[i] = table[(i64)ids[i / h] * h + i % h];
}

extern "C" __global__ void embedding_backward(float* dTable, const int* ids, const float* dOut, i64 count, int h) {
    for (i64 i = gtid(); i < count * h; i += gstride()) atomicAdd(dTable + (i64)ids[i / h] * h + i % h, dOut[i]);
}

// bf16 operands for the mixed-precision products (--precision bf16): round to nearest
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

// bf16 widens to fp32 exactly: its bits are the upper half of the float's
extern "C" __global__ void bf16_to_f32(float* __restrict__ out, const unsigned short* __restrict__ in, i64 n) {
    for (i64 i = gtid(); i < n; i += gstride()) out[i] = __uint_as_float((unsigned int)in[i] << 16);
}