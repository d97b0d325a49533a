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

inline double atomicAdd(double* p, double v) {
    std::lock_guard<std::mutex> l(g_atomic);
    double o = *p;
    *p = o + v;
    return o;
}

inline float atomicAdd(float* p, float v) {
    std::lock_guard<std::mutex> l(g_atomic);
    float o = *p;
    *p = o + v;
    return o;
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

// vector loads and launch hints, for decode.cu
struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
template <typename T>
T __ldg(const T* p) { return *p; }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
#define __launch_bounds__(...)
#define __restrict__
