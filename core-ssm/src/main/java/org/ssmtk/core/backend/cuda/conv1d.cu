// The depthwise causal convolution with SiLU and its backward (Conv1dKernels.java launches them),
// with the decoding state's update. Rows are (sequence, step), columns channels.
#include "common.cuh"

// the weight gradient keeps one accumulator per tap in registers
#define CONV_MAX_WIDTH 8
SSMTK_EXPORT(CONV_MAX_WIDTH)

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
