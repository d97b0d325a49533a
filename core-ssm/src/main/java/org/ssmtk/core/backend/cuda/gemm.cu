// The fallback matrix product (GemmKernel.java launches it) for machines where no cuBLAS loads.
#include "common.cuh"

// square tiles: the block is GEMM_TILE x GEMM_TILE threads, one output each
#define GEMM_TILE 16
SSMTK_EXPORT(GEMM_TILE)

// Fallback product when no cuBLAS loads: C[i, j] = sum_p A(i, p) B(p, j) + beta C[i, j], all row-major
// through strides so that x W^T, dy W and dy^T x are one kernel, in shared-memory tiles.
extern "C" __global__ void gemm_strided(float* C, const float* A, const float* B, int M, int N, int K, i64 sai, i64 sap,
                                        i64 sbp, i64 sbj, float beta) {
    __shared__ float ta[GEMM_TILE][GEMM_TILE + 1], tb[GEMM_TILE][GEMM_TILE + 1];
    int i = blockIdx.y * GEMM_TILE + threadIdx.y, j = blockIdx.x * GEMM_TILE + threadIdx.x;
    float acc = 0.f;
    for (int p0 = 0; p0 < K; p0 += GEMM_TILE) {
        int pa = p0 + threadIdx.x, pb = p0 + threadIdx.y;
        ta[threadIdx.y][threadIdx.x] = (i < M && pa < K) ? A[i * sai + pa * sap] : 0.f;
        tb[threadIdx.y][threadIdx.x] = (pb < K && j < N) ? B[pb * sbp + j * sbj] : 0.f;
        __syncthreads();
#pragma unroll
        for (int q = 0; q < GEMM_TILE; q++) acc += ta[threadIdx.y][q] * tb[q][threadIdx.x];
        __syncthreads();
    }
    if (i < M && j < N) {
        i64 o = (i64)i * N + j;
        C[o] = beta == 0.f ? acc : acc + beta * C[o];
    }
}