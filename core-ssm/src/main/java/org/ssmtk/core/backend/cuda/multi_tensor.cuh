// The table of the multi-tensor kernels (elementwise.cu's adamw_multi, reduce.cu's
// sum_of_squares_multi): one launch over many tensors instead of one per tensor. TensorTable.java
// writes it; each tensor is cut into chunks of MULTI_CHUNK elements, one block each, numbered
// from `first` on (a running total, so blocks find their tensor by a binary search).
#pragma once
#include "common.cuh"

#define MULTI_CHUNK 8192
SSMTK_EXPORT(MULTI_CHUNK)

// 64 bytes, TensorTable.LONGS longs: the addresses a kernel does not use are 0
struct TensorChunks {
    float* p;        // parameter
    const float* g;  // gradient (the tensor whose squares sum_of_squares_multi adds)
    float* m;        // AdamW's first moment
    float* v;        // and second
    i64 n;           // elements
    i64 first;       // the first block of this tensor's chunks
    float wd;        // AdamW's weight decay of this tensor
    int unused0;
    i64 unused1;
};

// The tensor whose chunks hold block: the last one whose first block is not after it (a tensor of
// no elements shares its first block with the next and is skipped).
__device__ __forceinline__ int tensor_of_block(const TensorChunks* ts, int count, i64 block) {
    int lo = 0, hi = count - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) >> 1;
        if (ts[mid].first <= block) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}
