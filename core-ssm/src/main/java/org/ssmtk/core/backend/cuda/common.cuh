// Shared by every kernel file of the cuda backend. Each NAME.cu beside its Java launcher is built to
// NAME.ptx for compute_80 by scripts/build-ptx.sh (the PTX is committed, so running needs no nvcc);
// semantics are those of CpuBackend and CpuSelectiveScan*, which the GPU tests compare against.
//
// Every kernel takes raw device addresses (a tensor's storage base plus its element offset) and
// 64-bit element counts: a (1, 1M, 1536) activation has more elements than an int indexes in bytes.
//
// Launch constants have one source, here and in the .cu files: SSMTK_EXPORT(NAME) writes NAME's
// value into the PTX as the global ssmtk_NAME, and the Java side reads it from there (KernelModule)
// when it sizes a launch; it never spells the number itself. CudaPtxSignatureTest checks, without a
// GPU, that every value the launchers ask for is exported.
#pragma once

#define LOG2E 1.4426950408889634f
#define FULL_MASK 0xffffffffu
#define SSMTK_EXPORT_AS(NAME, VALUE) extern "C" __device__ const int ssmtk_##NAME = (VALUE);
#define SSMTK_EXPORT(NAME) extern "C" __device__ const int ssmtk_##NAME = (NAME);

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
__device__ __forceinline__ float siluf(float v) { return v / (1.f + expf(-v)); }
// Sum of v over the block (every thread gets it); blockDim.x a multiple of 32, at most 1024.
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

// a and b each summed over the block as two block_sum calls would (the same order), one barrier pair
template <typename T>
__device__ __forceinline__ void block_sum2(T& a, T& b) {
    __shared__ T part[2][32];
    for (int o = 16; o > 0; o >>= 1) {
        a += __shfl_xor_sync(FULL_MASK, a, o);
        b += __shfl_xor_sync(FULL_MASK, b, o);
    }
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    __syncthreads();  // part[] may still be read by a previous call
    if (lane == 0) {
        part[0][warp] = a;
        part[1][warp] = b;
    }
    __syncthreads();
    a = lane < warps ? part[0][lane] : (T)0;
    b = lane < warps ? part[1][lane] : (T)0;
    for (int o = 16; o > 0; o >>= 1) {
        a += __shfl_xor_sync(FULL_MASK, a, o);
        b += __shfl_xor_sync(FULL_MASK, b, o);
    }
}
