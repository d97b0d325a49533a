// What the selective scan's forward (scan_forward.cu) and backward (scan_backward.cu) share: the
// chunk length, the bf16 input type, staging of B/C rows into shared memory, and quad sums.
#pragma once
#include "common.cuh"

// Time steps per kept scan state; CudaBackend.scanChunk() returns the same number (read from the
// PTX) and the backward replays a chunk from its kept state, so it bounds the work of one block.
#define SCAN_CHUNK 64

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