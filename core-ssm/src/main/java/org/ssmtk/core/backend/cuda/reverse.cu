// The flips of Caduceus (ReverseKernels.java launches it): every sequence's rows in reverse order,
// and each row's columns reversed too when asked (the reverse-complement strand's channel flip).
// Semantics are CpuBackend.reverseSequences'.
#include "common.cuh"

// One thread per output element: writes are coalesced along a row, and so are reads (the same row of
// the input, walked backwards when the columns are reversed).
extern "C" __global__ void reverse_sequences(float* out, const float* in, int batch, int len, int n, int reverseColumns) {
    i64 total = (i64)batch * len * n;
    for (i64 i = gtid(); i < total; i += gstride()) {
        int c = (int)(i % n);
        i64 row = i / n;
        i64 b = row / len;
        int t = (int)(row % len);
        i64 src = (b * len + (len - 1 - t)) * n + (reverseColumns ? n - 1 - c : c);
        out[i] = in[src];
    }
}
