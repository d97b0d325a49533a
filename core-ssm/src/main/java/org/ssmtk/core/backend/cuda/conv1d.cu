// The depthwise causal convolution with SiLU and its backward (Conv1dKernels.java launches them),
// with the decoding state's update. Rows are (sequence, step), columns channels.
//
// Forward and backward share one layout: a thread owns VEC adjacent channels of one sequence over a
// run of `steps` consecutive steps, walking them in order with the last taps of x (and, backward, of
// dPre) in registers, so that each element is loaded once (plus a halo of width - 1 steps per run)
// and no index is divided per element. A block is CONV_LANES channel groups by CONV_SEGS runs: a warp
// reads CONV_LANES * VEC consecutive floats of one row. The weight taps are held reversed and padded
// with zeros to the kernel's compile-time window WIN (4 or CONV_MAX_WIDTH), so one loop serves every
// width up to WIN with no branch on the width.
#include "common.cuh"

// the backward's per-tap accumulators live in registers: the widest kernel it takes
#define CONV_MAX_WIDTH 8
SSMTK_EXPORT(CONV_MAX_WIDTH)
// a block: CONV_LANES channel groups (of 4 or 1 channels) by CONV_SEGS runs of steps, one dimension of
// CONV_LANES * CONV_SEGS threads (lane = threadIdx.x % CONV_LANES, run = threadIdx.x / CONV_LANES)
#define CONV_LANES 32
#define CONV_SEGS 8
SSMTK_EXPORT(CONV_LANES)
SSMTK_EXPORT(CONV_SEGS)
// launch variants (Conv1dKernels picks one per call): window 4 in 4-channel float4 groups (16-byte
// aligned tensors, channels a multiple of 4), window 4 one channel a thread, window CONV_MAX_WIDTH
// (numbered from 1: nvcc writes an exported 0 with no initializer, which PtxModule would not find)
#define CONV_W4_V4 1
#define CONV_W4_V1 2
#define CONV_W8_V1 3
SSMTK_EXPORT(CONV_W4_V4)
SSMTK_EXPORT(CONV_W4_V1)
SSMTK_EXPORT(CONV_W8_V1)

template <int V>
__device__ __forceinline__ void load_vec(float (&r)[V], const float* p) {
    if constexpr (V == 4) {
        float4 q = __ldg((const float4*)p);
        r[0] = q.x, r[1] = q.y, r[2] = q.z, r[3] = q.w;
    } else {
        r[0] = __ldg(p);
    }
}

template <int V>
__device__ __forceinline__ void store_vec(float* p, const float (&r)[V]) {
    if constexpr (V == 4) *(float4*)p = make_float4(r[0], r[1], r[2], r[3]);
    else p[0] = r[0];
}

// The same V values rounded to bf16 (nearest even, as f32_to_bf16) at p16 (null: none): the operand
// of the bf16 product that reads the tensor next (--precision bf16), without a pass of its own.
// p16 is 8-byte aligned wherever V is 4 (its fp32 twin is 16-byte aligned).
template <int V>
__device__ __forceinline__ void store_vec16(unsigned short* p16, const float (&r)[V]) {
    if (!p16) return;
    unsigned short h[V];
#pragma unroll
    for (int v = 0; v < V; v++) asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h[v]) : "f"(r[v]));
    if constexpr (V == 4) *(uint2*)p16 = make_uint2(h[0] | ((unsigned int)h[1] << 16), h[2] | ((unsigned int)h[3] << 16));
    else p16[0] = h[0];
}

// A thread's place: channels [c, c + V) of sequence b, steps [t0, t1); false where it has none.
template <int V>
__device__ __forceinline__ bool conv_place(int batch, int len, int ch, int steps, int segBlocks, int& b, int& c, int& t0,
                                           int& t1) {
    int groups = ch / V;
    int g = blockIdx.y * CONV_LANES + threadIdx.x % CONV_LANES;
    b = blockIdx.x / segBlocks;
    t0 = ((blockIdx.x - b * segBlocks) * CONV_SEGS + threadIdx.x / CONV_LANES) * steps;
    t1 = min(len, t0 + steps);
    c = g * V;
    return g < groups && b < batch && t0 < len;
}

// wr[k] = w[c, width - 1 - k]: the tap applied to x[t - k]; zero for k >= width.
template <int WIN, int V>
__device__ __forceinline__ void reversed_taps(float (&wr)[WIN][V], const float* w, int c, int width) {
#pragma unroll
    for (int k = 0; k < WIN; k++)
#pragma unroll
        for (int v = 0; v < V; v++) wr[k][v] = k < width ? __ldg(w + (i64)(c + v) * width + width - 1 - k) : 0.f;
}

template <int WIN, int V>
__device__ __forceinline__ void conv_forward(float* __restrict__ out, unsigned short* __restrict__ out16,
                                             const float* __restrict__ x, const float* w,
                                             const float* bias, const float* state, int batch, int len, int ch, int width, int steps,
                                             int segBlocks) {
    int b, c, t0, t1;
    if (!conv_place<V>(batch, len, ch, steps, segBlocks, b, c, t0, t1)) return;
    float wr[WIN][V], bi[V], xs[WIN][V];  // xs[k] = x[t - k]
    reversed_taps<WIN, V>(wr, w, c, width);
#pragma unroll
    for (int v = 0; v < V; v++) bi[v] = bias ? __ldg(bias + c + v) : 0.f;
    const float* xb = x + (i64)b * len * ch + c;
    // as of step t0 - 1 (each step shifts the window first): xs[k] = x[t0 - 1 - k]
#pragma unroll
    for (int k = 0; k < WIN; k++) {
        int t = t0 - 1 - k;
#pragma unroll
        for (int v = 0; v < V; v++) xs[k][v] = 0.f;
        if (k == WIN - 1) continue;  // shifted out before it is read
        if (t >= 0) load_vec<V>(xs[k], xb + (i64)t * ch);
        else if (state && width - 1 + t >= 0)  // the window before the sequence: slot width - 1 + t
#pragma unroll
            for (int v = 0; v < V; v++) xs[k][v] = state[((i64)b * (width - 1) + width - 1 + t) * ch + c + v];
    }
    float next[V];  // x[t + 1], loaded a step ahead so that two loads are in flight per thread
    load_vec<V>(next, xb + (i64)t0 * ch);
    for (int t = t0; t < t1; t++) {
#pragma unroll
        for (int k = WIN - 1; k > 0; k--)
#pragma unroll
            for (int v = 0; v < V; v++) xs[k][v] = xs[k - 1][v];
#pragma unroll
        for (int v = 0; v < V; v++) xs[0][v] = next[v];
        if (t + 1 < t1) load_vec<V>(next, xb + (i64)(t + 1) * ch);
        float o[V];
#pragma unroll
        for (int v = 0; v < V; v++) {
            float acc = bi[v];
#pragma unroll
            for (int k = WIN - 1; k >= 0; k--)  // the CPU's tap order, oldest first
                if (k < width) acc += wr[k][v] * xs[k][v];
            o[v] = siluf(acc);
        }
        store_vec<V>(out + ((i64)b * len + t) * ch + c, o);
        store_vec16<V>(out16 ? out16 + ((i64)b * len + t) * ch + c : nullptr, o);
    }
}

// out = silu(conv(x) + bias); the window before each sequence is read from state (batch, width - 1, ch)
// when given, zeros otherwise. The state itself moves in conv1d_state_update, after this.
extern "C" __global__ void __launch_bounds__(CONV_LANES * CONV_SEGS)
conv1d_silu(float* out, unsigned short* out16, const float* x, const float* w, const float* bias, const float* state,
            int batch, int len, int ch, int width, int steps, int segBlocks, int variant) {
    if (variant == CONV_W4_V4) conv_forward<4, 4>(out, out16, x, w, bias, state, batch, len, ch, width, steps, segBlocks);
    else if (variant == CONV_W4_V1) conv_forward<4, 1>(out, out16, x, w, bias, state, batch, len, ch, width, steps, segBlocks);
    else conv_forward<CONV_MAX_WIDTH, 1>(out, out16, x, w, bias, state, batch, len, ch, width, steps, segBlocks);
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

// The backward of a zero-state conv1d_silu, in one pass over each run of steps:
//   pre[t]  = bias + sum_k wr[k] x[t - k],  dPre[t] = dOut[t] silu'(pre[t])
//   dx[s]  += sum_k wr[k] dPre[s + k]       (a gather: no two threads write one element)
//   dw, dBias partial sums of dPre[t] x[t - k] and dPre[t] over the thread's steps.
// dx[s] needs dPre up to s + WIN - 1, so a run recomputes dPre over the WIN - 1 steps after its end
// (the next run's first ones; zero past the sequence). The block adds its CONV_SEGS runs' partial
// sums in order and writes one partial per (block column, channel) to partials (blocks along x,
// channel, WIN + 1 values: the reversed taps, then the bias); conv1d_dweight_sum adds those in a
// fixed order, so the weight gradient is the same on every run, unlike atomics.
template <int WIN, int V>
__device__ __forceinline__ void conv_backward(float* __restrict__ dx, unsigned short* __restrict__ dx16, float* __restrict__ partials,
                                              const float* __restrict__ dOut, const float* __restrict__ x, const float* w, const float* bias, int batch, int len, int ch, int width,
                                              int steps, int segBlocks, int accumulate, float* red) {
    int b, c, t0, t1;
    bool active = conv_place<V>(batch, len, ch, steps, segBlocks, b, c, t0, t1);
    float dwr[WIN][V], db[V];
#pragma unroll
    for (int v = 0; v < V; v++) {
        db[v] = 0.f;
#pragma unroll
        for (int k = 0; k < WIN; k++) dwr[k][v] = 0.f;
    }
    if (active) {
        float wr[WIN][V], bi[V], xs[WIN][V], dps[WIN][V];  // xs[k] = x[t - k], dps[k] = dPre[t - k]
        reversed_taps<WIN, V>(wr, w, c, width);
        const float* xb = x + (i64)b * len * ch + c;
        const float* gb = dOut + (i64)b * len * ch + c;
        float* dxb = dx + (i64)b * len * ch + c;
#pragma unroll
        for (int v = 0; v < V; v++) bi[v] = bias ? __ldg(bias + c + v) : 0.f;
#pragma unroll
        for (int k = 0; k < WIN; k++)
#pragma unroll
            for (int v = 0; v < V; v++) xs[k][v] = dps[k][v] = 0.f;
        // as of step t0 - 1 (each step shifts the window first): xs[k] = x[t0 - 1 - k], zeros before the sequence
#pragma unroll
        for (int k = 0; k < WIN - 1; k++)
            if (t0 - 1 - k >= 0) load_vec<V>(xs[k], xb + (i64)(t0 - 1 - k) * ch);
        // x[t + 1] and dOut[t + 1], loaded a step ahead so that more loads are in flight per thread
        float nx[V], ng[V];
        load_vec<V>(nx, xb + (i64)t0 * ch);
        load_vec<V>(ng, gb + (i64)t0 * ch);
        for (int t = t0; t < t1 + WIN - 1; t++) {
#pragma unroll
            for (int k = WIN - 1; k > 0; k--)
#pragma unroll
                for (int v = 0; v < V; v++) xs[k][v] = xs[k - 1][v], dps[k][v] = dps[k - 1][v];
            if (t < len) {
                float g[V];
#pragma unroll
                for (int v = 0; v < V; v++) xs[0][v] = nx[v], g[v] = ng[v];
                if (t + 1 < len) {
                    load_vec<V>(nx, xb + (i64)(t + 1) * ch);
                    load_vec<V>(ng, gb + (i64)(t + 1) * ch);
                }
#pragma unroll
                for (int v = 0; v < V; v++) {
                    float pre = bi[v];
#pragma unroll
                    for (int k = WIN - 1; k >= 0; k--)
                        if (k < width) pre += wr[k][v] * xs[k][v];
                    float sig = sigmoidf(pre);
                    dps[0][v] = g[v] * sig * (1.f + pre * (1.f - sig));
                }
            } else {
#pragma unroll
                for (int v = 0; v < V; v++) xs[0][v] = dps[0][v] = 0.f;
            }
            if (t < t1) {
#pragma unroll
                for (int v = 0; v < V; v++) {
                    db[v] += dps[0][v];
#pragma unroll
                    for (int k = 0; k < WIN; k++) dwr[k][v] += dps[0][v] * xs[k][v];
                }
            }
            int s = t - (WIN - 1);
            if (s >= t0) {
                float d[V];
                if (accumulate) load_vec<V>(d, dxb + (i64)s * ch);
#pragma unroll
                for (int v = 0; v < V; v++)
                    if (!accumulate) d[v] = 0.f;  // dx was all zeros: the same sums, without reading it
#pragma unroll
                for (int v = 0; v < V; v++)
#pragma unroll
                    for (int k = 0; k < WIN; k++)
                        if (k < width) d[v] += wr[k][v] * dps[WIN - 1 - k][v];  // dPre[s + k]
                store_vec<V>(dxb + (i64)s * ch, d);
                store_vec16<V>(dx16 ? dx16 + ((i64)b * len + s) * ch + c : nullptr, d);
            }
        }
    }
    // the block's runs in order: red[seg][value][lane], value = k * V + v (k == WIN: the bias)
    constexpr int VALUES = (WIN + 1) * V;
    int lane = threadIdx.x % CONV_LANES, run = threadIdx.x / CONV_LANES;
#pragma unroll
    for (int k = 0; k <= WIN; k++)
#pragma unroll
        for (int v = 0; v < V; v++)
            red[(run * VALUES + k * V + v) * CONV_LANES + lane] = k < WIN ? dwr[k][v] : db[v];
    __syncthreads();
    int groups = ch / V, g = blockIdx.y * CONV_LANES + lane;
    if (g >= groups) return;
    for (int e = run; e < VALUES; e += CONV_SEGS) {
        float s = 0.f;
        for (int q = 0; q < CONV_SEGS; q++) s += red[(q * VALUES + e) * CONV_LANES + lane];
        int k = e / V, v = e - k * V;
        partials[((i64)blockIdx.x * ch + g * V + v) * (WIN + 1) + k] = s;
    }
}

// The largest of the variants' block buffers: CONV_SEGS x (WIN + 1) x VEC x CONV_LANES floats.
#define CONV_RED_FLOATS (CONV_SEGS * CONV_LANES * ((4 + 1) * 4 > CONV_MAX_WIDTH + 1 ? (4 + 1) * 4 : CONV_MAX_WIDTH + 1))

// dx += the input gradient of conv1d_silu from a zero state (accumulate 0: dx = it, dx unread), dx16
// (if not null) receiving the sums rounded to bf16; partials as conv_backward writes them.
extern "C" __global__ void __launch_bounds__(CONV_LANES * CONV_SEGS)
conv1d_backward(float* dx, unsigned short* dx16, float* partials, const float* dOut, const float* x, const float* w,
                const float* bias, int batch, int len, int ch, int width, int steps, int segBlocks, int variant,
                int accumulate) {
    __shared__ float red[CONV_RED_FLOATS];
    if (variant == CONV_W4_V4)
        conv_backward<4, 4>(dx, dx16, partials, dOut, x, w, bias, batch, len, ch, width, steps, segBlocks, accumulate, red);
    else if (variant == CONV_W4_V1)
        conv_backward<4, 1>(dx, dx16, partials, dOut, x, w, bias, batch, len, ch, width, steps, segBlocks, accumulate, red);
    else
        conv_backward<CONV_MAX_WIDTH, 1>(dx, dx16, partials, dOut, x, w, bias, batch, len, ch, width, steps, segBlocks,
                                         accumulate, red);
}

// dw[c, j] += the sum over the parts of partials[part, c, width - 1 - j], dBias[c] (if not null) +=
// that of partials[part, c, win] (win + 1 values per channel and part): one thread per output, the
// parts added in order.
extern "C" __global__ void conv1d_dweight_sum(float* dw, float* dBias, const float* partials, int parts, int ch,
                                              int width, int win) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= ch * (width + 1)) return;
    int c = i / (width + 1), j = i - c * (width + 1);
    if (j == width && !dBias) return;
    int k = j == width ? win : width - 1 - j;
    const float* p = partials + (i64)c * (win + 1) + k;
    i64 stride = (i64)ch * (win + 1);
    float s = 0.f;
#pragma unroll 8
    for (int q = 0; q < parts; q++) s += p[q * stride];
    if (j == width) dBias[c] += s;
    else dw[c * width + j] += s;
}
