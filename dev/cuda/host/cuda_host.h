// Just enough of CUDA to run a kernel file's source on the host, with real threads: a block's threads
// are std::threads that meet at __syncthreads on a std::barrier, shared memory is one buffer per launch
// (refilled with NaN bytes before every block, so a read of what no thread of the block wrote shows),
// warp shuffles (xor, up) go through an exchange with one barrier per warp of 32 threads (blocks must be whole warps),
// atomics take a lock. Blocks of a launch run one after another. scripts/ssd-host-check.sh includes
// ssd.cu through this header (its `extern __shared__` arrays rewritten to point at the buffer) to run
// the production kernels themselves on a machine without a GPU. Not a CUDA emulator: no warps, no
// memory model beyond what the barrier orders, no launch limits.
#pragma once
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <math.h>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
inline std::barrier<>* g_barrier;
inline std::vector<std::barrier<>*> g_warp_barriers;
inline unsigned char* g_smem;
inline std::mutex g_atomic;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
struct alignas(16) float4 {
    float x, y, z, w;
};
struct alignas(8) float2 {
    float x, y;
};
#define asm(...)
using std::max;
using std::min;

inline void __syncthreads() { g_barrier->arrive_and_wait(); }

template <typename T>
T* host_exchange() {
    static std::vector<T> b(1024);
    return b.data();
}

// every lane of the warp calls it (FULL_MASK): lane t reads lane t ^ o, through the warp's own slots
// and barrier, so warps that loop different numbers of times do not wait for each other
template <typename T>
T __shfl_xor_sync(unsigned, T v, int o) {
    T* b = host_exchange<T>();
    unsigned t = threadIdx.x;
    std::barrier<>* warp = g_warp_barriers[t / 32];
    b[t] = v;
    warp->arrive_and_wait();
    T r = b[t ^ (unsigned)o];
    warp->arrive_and_wait();
    return r;
}

// lane t reads lane t - o (its own value when t < o), as __shfl_xor_sync exchanges
template <typename T>
T __shfl_up_sync(unsigned, T v, int o) {
    T* b = host_exchange<T>();
    unsigned t = threadIdx.x;
    std::barrier<>* warp = g_warp_barriers[t / 32];
    b[t] = v;
    warp->arrive_and_wait();
    T r = (t & 31) >= (unsigned)o ? b[t - o] : v;
    warp->arrive_and_wait();
    return r;
}

// __expf: ex2.approx of x log2(e); the product's rounding in float is most of its error
inline float __expf(float x) { return std::exp2(x * 1.44269504f); }

inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }

inline unsigned __float_as_uint(float f) {
    unsigned u;
    std::memcpy(&u, &f, 4);
    return u;
}

// cvt.rna.tf32.f32: 10 bits of mantissa, the nearest with ties away from zero, the low 13 bits zero
inline unsigned host_tf32(float x) {
    unsigned u = __float_as_uint(x);
    if ((u & 0x7f800000u) != 0x7f800000u) u += 0x1000u;
    return u & 0xffffe000u;
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 for the warp of the calling lane (every lane
// calls it): the lanes' fragments are gathered into the 16 x 8 and 8 x 8 operands (PTX's fragment
// layout: lane 4 g + t holds a rows g, g + 8 and columns t, t + 4; b rows t, t + 4 of column g; d rows
// g, g + 8 and columns 2 t, 2 t + 1), then each lane adds its four products in float
inline void host_mma_tf32(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
    static unsigned xa[1024][4], xb[1024][2];
    unsigned tid = threadIdx.x, base = tid & ~31u, lane = tid & 31u;
    std::barrier<>* warp = g_warp_barriers[tid / 32];
    for (int i = 0; i < 4; i++) xa[tid][i] = a[i];
    xb[tid][0] = b0;
    xb[tid][1] = b1;
    warp->arrive_and_wait();
    float A[16][8], B[8][8];
    for (unsigned l = 0; l < 32; l++) {
        unsigned g = l >> 2, t = l & 3;
        A[g][t] = __uint_as_float(xa[base + l][0]);
        A[g + 8][t] = __uint_as_float(xa[base + l][1]);
        A[g][t + 4] = __uint_as_float(xa[base + l][2]);
        A[g + 8][t + 4] = __uint_as_float(xa[base + l][3]);
        B[t][g] = __uint_as_float(xb[base + l][0]);
        B[t + 4][g] = __uint_as_float(xb[base + l][1]);
    }
    warp->arrive_and_wait();
    unsigned g = lane >> 2, t = lane & 3;
    for (int q = 0; q < 4; q++) {
        unsigned row = g + (q >> 1) * 8, col = 2 * t + (q & 1);
        float s = d[q];
        for (int k = 0; k < 8; k++) s += A[row][k] * B[k][col];
        d[q] = s;
    }
}

// atomicAdd on any arithmetic type, the type taken from the pointer (as CUDA's overloads convert v)
template <typename T>
T atomicAdd(T* p, std::type_identity_t<T> v) {
    std::lock_guard<std::mutex> l(g_atomic);
    T o = *p;
    *p = o + v;
    return o;
}

inline int atomicMin(int* p, int v) {
    std::lock_guard<std::mutex> l(g_atomic);
    int o = *p;
    *p = std::min(o, v);
    return o;
}

inline double __longlong_as_double(long long b) {
    double d;
    std::memcpy(&d, &b, sizeof d);
    return d;
}

// Runs body as kernel<<<(gx, gy), bx, smem>>>: bx threads live for the whole launch and take the
// blocks in turn, meeting at a barrier before and after each.
inline void host_launch(unsigned gx, unsigned gy, unsigned bx, size_t smemBytes, const std::function<void()>& body) {
    if (gx == 0 || gy == 0) return;
    gridDim = {gx, gy, 1};
    blockDim = {bx, 1, 1};
    std::vector<unsigned char> smem(std::max<size_t>(smemBytes, 16) + 16);
    std::barrier<> bar((std::ptrdiff_t)bx);
    g_barrier = &bar;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    g_warp_barriers.clear();
    for (unsigned w = 0; w < (bx + 31) / 32; w++) {
        warps.push_back(std::make_unique<std::barrier<>>(32));
        g_warp_barriers.push_back(warps.back().get());
    }
    g_smem = smem.data();
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < bx; t++)
        threads.emplace_back([&, t] {
            threadIdx = {t, 0, 0};
            for (unsigned y = 0; y < gy; y++)
                for (unsigned x = 0; x < gx; x++) {
                    if (t == 0) std::memset(smem.data(), 0xff, smem.size());
                    bar.arrive_and_wait();
                    blockIdx = {x, y, 0};
                    body();
                    bar.arrive_and_wait();
                }
        });
    for (auto& th : threads) th.join();
}

// Launcher.launch1d's grid for n elements, with fewer blocks (the host has no SMs to fill).
inline void host_launch1d(long long n, const std::function<void()>& body) {
    if (n <= 0) return;
    host_launch((unsigned)std::min<long long>((n + 255) / 256, 4), 1, 256, 0, body);
}

// vector loads and launch hints, for decode.cu (float4 and __launch_bounds__ are defined above)
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline float2 make_float2(float x, float y) { return {x, y}; }
struct alignas(8) uint2 {
    unsigned x, y;
};
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
template <typename T>
T __ldg(const T* p) { return *p; }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
#define __restrict__
