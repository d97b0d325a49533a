// Mamba-2's SSD scan and gated RMSNorm (SsdKernels.java launches them, CudaSsd.java orders them).
// The algorithm is CpuSsd's (the paper's chunked SSD) split into kernels that each own what they
// write; scripts/ssd-host-check.sh runs this file on the host against a float64 recurrence.
//
// Names: a call has batch sequences of len steps, heads of P channels (x, y columns h P + p), groups
// of N states (B, C columns g N + j; head h reads group h / (heads / groups)), chunks of Q steps
// (nc of them, the last one lc <= Q long). Per (row, head) scratch: w = the clamped dt, l = the
// cumulative sum of w A inside the chunk (double: the decays are exp(l_t - l_s) of differences), gw =
// d w / d(dt + bias). States (batch, nc, heads, P, N) are indexed ((b nc + c) heads + h) P N + p N + j.
//
// Every product inside a chunk (the Gram matrix C B^T, the masked quadratic form times x, the chunk
// states, their adjoints; the chunk states and the local carries on tensor cores excepted, see
// ssd_outer_sum) is a tiled fp32 matrix product (ssd_mm): a block of 256 threads owns a
// 64 x 64 tile of the result, each thread 16 elements of it (a 4 x 4 patch, or on tensor cores
// mostly the mma's fragments: ssd_at); the operands are read as 16-byte quads, 32
// steps of k a slice, into registers one slice ahead and staged through two alternating shared
// buffers, each element passed through a modifier that applies the decays and masks as it is staged.
// Below a diagonal tile the decay exp(l_t - l_s) splits at the tile's edge into a row scale and a
// column scale, both at most 1 (l falls along a chunk), so only diagonal tiles take an exponential
// per element. The backward's per-head loops run as one product segmented by head (ssd_mm_run). Each of
// these kernels has three entries, one per way of multiplying (SSD_ENTRIES): NAME, exact fp32 with
// fp32 sums on CUDA cores, as the CPU; NAME_tf32x3 on tensor cores with fp32's accuracy; NAME_tf32 on
// tensor cores in TF32 (10 bits of mantissa, fp32 sums), as the reference (state-spaces/mamba's
// Triton) runs them, which the bf16 precision's tolerance allows. CudaBackend picks one per backend:
// fp32 runs NAME_tf32x3 (faster than NAME on tensor cores, as accurate), bf16 NAME_tf32.
#include "common.cuh"

#define SSD_THREADS 256
// edge of a result tile (rows of chunk steps, columns of steps, channels or states)
#define SSD_T 64
// depth of one staged slice of the operands
#define SSD_TK 32
// row strides of a staged slice, float4-aligned: [k][m] rows of SSD_T (72: the tensor cores' fragment
// reads hit banks 8 t + g, all different) and [m][k] rows of SSD_TK (36: banks 4 g + t)
#define SSD_LDM (SSD_T + 8)
#define SSD_LDK (SSD_TK + 4)
// floats of one staged slice in either layout
#define SSD_SLICE (SSD_TK * SSD_LDM)
// row stride of the tile that carries accumulators between the two layouts (it reuses the staging area)
#define SSD_LDC (SSD_T + 4)
static_assert(SSD_TK * SSD_LDM == SSD_T * SSD_LDK, "both layouts of a slice fill the same floats");
static_assert(SSD_T * SSD_LDC <= 2 * SSD_SLICE, "the accumulator tile fits in the staging area");
#define SSD_NORM_THREADS 128
SSMTK_EXPORT(SSD_THREADS)
SSMTK_EXPORT(SSD_T)
SSMTK_EXPORT(SSD_NORM_THREADS)

__device__ __forceinline__ int ssd_chunks(int len, int Q) { return (len + Q - 1) / Q; }
__device__ __forceinline__ int ssd_tiles(int n) { return (n + SSD_T - 1) / SSD_T; }

// CpuSsd.softplus: x itself above 20
__device__ __forceinline__ float ssd_softplus(float x) { return x > 20.f ? x : log1pf(expf(x)); }

// The (unit, part) of this block, for kernels whose grid is units (a sequence's chunk and head, say) by
// parts of a unit (its tiles): blockIdx as it is, or with SSD_UNIT_ORDER the linear block index split
// so that a unit's parts launch next to each other and share their operands in L2 (for timing: on an
// H200 at 130m-mamba2 8 x 2048 it left the chunk output and dx as they were, 3xTF32 3% slower).
#ifndef SSD_UNIT_ORDER
#define SSD_UNIT_ORDER 0
#endif
__device__ __forceinline__ void ssd_unit(int& unit, int& part) {
    if (SSD_UNIT_ORDER) {
        int lin = blockIdx.y * gridDim.x + blockIdx.x;
        unit = lin / gridDim.y;
        part = lin % gridDim.y;
    } else {
        unit = blockIdx.x;
        part = blockIdx.y;
    }
}

// Tile pair y -> (tt, st), st <= tt, in the order (0,0) (1,0) (1,1) (2,0) ...: the lower triangle of a
// chunk's tiles, which is all a causal product touches.
__device__ __forceinline__ void ssd_pair(int y, int& tt, int& st) {
    tt = 0;
    while ((tt + 1) * (tt + 2) / 2 <= y) tt++;
    st = y - tt * (tt + 1) / 2;
}

// The ways of multiplying (template argument MODE of ssd_mm and of every kernel body that calls it).
// SSD_TF32X3: TF32 with three products per step (x = big + small, both TF32, and a b ~ big_a big_b +
// big_a small_b + small_a big_b), which keeps fp32's accuracy where one TF32 product loses three
// decimal digits; on an H200 it passed the fp32 GPU tests (forward 1.0e-6, gradients 3.8e-6), and since
// the staging of 2026-11-30 it runs faster than SSD_FP32 (SsdBench 130m-mamba2 8x2048, one layer's
// training forward + backward: 0.96 + 2.33 ms against 1.15 + 2.67). SSD_TF32: one product.
#define SSD_FP32 0
#define SSD_TF32X3 1
#define SSD_TF32 2
SSMTK_EXPORT(SSD_FP32)
SSMTK_EXPORT(SSD_TF32X3)
SSMTK_EXPORT(SSD_TF32)
// the staging area of a product kernel's block: two buffers of two slices (A, B), and the accumulator
// tile between them
#define SSD_STAGE_DECL __shared__ __align__(16) float sm[4 * SSD_SLICE];
// NAME, NAME_tf32x3 and NAME_tf32: the kernel NAME_body<MODE> once per way of multiplying. MINB: the
// blocks per SM its registers must allow (4: 64 registers, 3: 80, 2: 128): more resident warps hide
// the loads' latency, as far as the kernel's live values fit without spilling (ptxas -v for sm_90).
#define SSD_ENTRIES(NAME, MINB, PARAMS, ARGS)                                                                             \
    extern "C" __global__ void __launch_bounds__(SSD_THREADS, MINB) NAME PARAMS { NAME##_body<SSD_FP32> ARGS; }          \
    extern "C" __global__ void __launch_bounds__(SSD_THREADS, MINB) NAME##_tf32x3 PARAMS { NAME##_body<SSD_TF32X3> ARGS; } \
    extern "C" __global__ void __launch_bounds__(SSD_THREADS, MINB) NAME##_tf32 PARAMS { NAME##_body<SSD_TF32> ARGS; }
// (variants for timing: nvcc -DSSD_MINB_OUTPUT=2 ...)
#ifndef SSD_MINB_OUTPUT
#define SSD_MINB_OUTPUT 4
#endif
#ifndef SSD_MINB_DX
#define SSD_MINB_DX 3
#endif
#ifndef SSD_MINB_DB
#define SSD_MINB_DB 4
#endif
#ifndef SSD_MINB_DC
#define SSD_MINB_DC 2
#endif
#ifndef SSD_MINB_DCB
#define SSD_MINB_DCB 2
#endif
#ifndef SSD_MINB_PLAIN
#define SSD_MINB_PLAIN 4
#endif

// exp(x) of a decay exponent (x <= 0) made element by element inside a product's loader: the hardware's
// approximate exponential under one TF32 product (a few ulp, below TF32's rounding), expf otherwise
template <int MODE>
__device__ __forceinline__ float ssd_decay(double x) {
    if constexpr (MODE == SSD_TF32) return __expf((float)x);
    else return expf((float)x);
}

__device__ __forceinline__ unsigned ssd_tf32(float x) {
#ifdef __CUDA_ARCH__
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
#else
    return host_tf32(x);
#endif
}

// x rounded to TF32 (big) and, under 3xTF32, the TF32 rounding of what that leaves (small; untouched otherwise)
template <int MODE>
__device__ __forceinline__ void ssd_tf32_split(float x, unsigned& big, unsigned& small) {
    big = ssd_tf32(x);
    if constexpr (MODE == SSD_TF32X3) small = ssd_tf32(x - __uint_as_float(big));
}

// d += a b for one 16 x 8 x 8 step of a warp: a (16 x 8, rows g and g + 8, columns t and t + 4 of lane
// 4 g + t), b (8 x 8, rows t and t + 4, column g), d (rows g and g + 8, columns 2 t and 2 t + 1)
__device__ __forceinline__ void ssd_mma(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
#ifdef __CUDA_ARCH__
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    host_mma_tf32(d, a, b0, b1);
#endif
}

// One operand of ssd_mm as it lies in memory: element (x, k) (x = m of A, n of B) at p[x ld + k] when
// the operand is contiguous along k (ssd_mm's AK / BK), else at p[k ld + x]; 0 where x >= xEnd or k >= k1.
struct SsdOp {
    const float* p;
    i64 ld;
    int xEnd;
};

// Quad q (0 <= q < 2 SSD_THREADS) of a 64 x SSD_TK slice: the 4 elements (x, kk .. kk + 3) when the
// operand is contiguous along k (CK), else (x .. x + 3, kk). Along k, 8 neighbouring threads read 128
// contiguous bytes on tensor cores; on CUDA cores (which stage the slice transposed, as [k][x]) 32
// neighbouring threads take 32 rows, so that the transposing stores fall in different banks.
template <int MODE, bool CK>
__device__ __forceinline__ void ssd_quad(int q, int& x, int& kk) {
    if constexpr (!CK) {
        x = (q & 15) * 4;
        kk = q >> 4;
    } else if constexpr (MODE == SSD_FP32) {
        x = q & 63;
        kk = (q >> 6) * 4;
    } else {
        x = q >> 3;
        kk = (q & 7) * 4;
    }
}

// r = the quad of o at (x, k) (ssd_quad's) as it lies in memory, 0 outside. vec: o.p is 16-byte aligned
// and o.ld a multiple of 4, so a whole quad is one 16-byte load. Nothing here reads r: the loads stay in
// flight while the previous slice is multiplied, and ssd_modify uses them only when the quad is staged.
template <bool CK>
__device__ __forceinline__ void ssd_load(float (&r)[4], const SsdOp& o, bool vec, int x, int k, int k1) {
    int a = CK ? x : k, b = CK ? k : x, aEnd = CK ? o.xEnd : k1, bEnd = CK ? k1 : o.xEnd;
    if (a < aEnd) {
        const float* p = o.p + (i64)a * o.ld + b;
        if (vec && b + 3 < bEnd) {
            float4 v = *(const float4*)p;
            r[0] = v.x;
            r[1] = v.y;
            r[2] = v.z;
            r[3] = v.w;
        } else {
#pragma unroll
            for (int i = 0; i < 4; i++) r[i] = b + i < bEnd ? p[i] : 0.f;
        }
    } else {
#pragma unroll
        for (int i = 0; i < 4; i++) r[i] = 0.f;
    }
}

// Each element of ssd_load's quad that is in bounds passed through f(x, k, value) (those outside stay 0:
// f may read per-step tables only in bounds).
template <bool CK, typename F>
__device__ __forceinline__ void ssd_modify(float (&r)[4], const SsdOp& o, int x, int k, int k1, F f) {
    int a = CK ? x : k, b = CK ? k : x, aEnd = CK ? o.xEnd : k1, bEnd = CK ? k1 : o.xEnd;
    if (a < aEnd) {
#pragma unroll
        for (int i = 0; i < 4; i++)
            if (b + i < bEnd) r[i] = f(CK ? x : x + i, CK ? k + i : k, r[i]);
    }
}

// Writes a quad into its staged slice S: on tensor cores in the operand's own layout ([x][k] rows of
// SSD_LDK or [k][x] rows of SSD_LDM), one 16-byte store, already rounded to TF32 under SSD_TF32 (each
// element is read by 2 or 4 warps); on CUDA cores always as [k][x].
template <int MODE, bool CK>
__device__ __forceinline__ void ssd_stage(float* S, const float (&r)[4], int x, int kk) {
    float v[4];
#pragma unroll
    for (int i = 0; i < 4; i++) v[i] = MODE == SSD_TF32 ? __uint_as_float(ssd_tf32(r[i])) : r[i];
    if constexpr (!CK) *(float4*)(S + kk * SSD_LDM + x) = make_float4(v[0], v[1], v[2], v[3]);
    else if constexpr (MODE != SSD_FP32) *(float4*)(S + x * SSD_LDK + kk) = make_float4(v[0], v[1], v[2], v[3]);
    else {
#pragma unroll
        for (int i = 0; i < 4; i++) S[(kk + i) * SSD_LDM + x] = v[i];
    }
}

// the modifier that leaves an operand as it is
struct SsdAsIs {
    __device__ __forceinline__ float operator()(int, int, float v) const { return v; }
};

__device__ __forceinline__ void ssd_zero(float (&acc)[4][4]) {
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.f;
}

// no hook: ssd_mm_run's segments are the whole k range
struct SsdNoHook {
    __device__ __forceinline__ void operator()(int, float (&)[4][4]) const {}
};

// nothing to do while the first slice is on its way
struct SsdNoPre {
    __device__ __forceinline__ void operator()() const {}
};

// SSD_EARLY 1: a kernel's prologue (the per-step tables its modifiers read) runs as ssd_mm's pre, while
// the first slice's loads are in flight; 0: before the product (for timing)
#ifndef SSD_EARLY
#define SSD_EARLY 1
#endif

// Where element acc[i][j] of ssd_mm_run's result lies in the block's 64 x 64 tile (row m, column n).
// The tile layout: rows 4 ty + i, columns 4 tx + j. The fragment layout (FRAG, on tensor cores): the
// mma accumulators as they are, warp w's rows 16 (w % 4) + g + 8 (j / 2), columns 32 (w / 4) + 8 i +
// 2 t + j % 2 (lane 4 g + t); on CUDA cores FRAG changes nothing.
template <int MODE, bool FRAG>
__device__ __forceinline__ void ssd_at(int i, int j, int& m, int& n) {
    int tid = threadIdx.x;
    if constexpr (FRAG && MODE != SSD_FP32) {
        int lane = tid & 31, warp = tid >> 5;
        m = (warp & 3) * 16 + (lane >> 2) + (j >> 1) * 8;
        n = (warp >> 2) * 32 + i * 8 + 2 * (lane & 3) + (j & 1);
    } else {
        m = (tid >> 4) * 4 + i;
        n = (tid & 15) * 4 + j;
    }
}

// Every element (i, j) of this thread's acc[4][4] with its tile row and column (ssd_at<MODE, true>):
// f(i, j, m, n). STEP 2: only even j, for epilogues that take the adjacent columns n, n + 1 as a pair.
template <int MODE, int STEP = 1, class F>
__device__ __forceinline__ void ssd_each(F&& f) {
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j += STEP) {
            int m, n;
            ssd_at<MODE, true>(i, j, m, n);
            f(i, j, m, n);
        }
}

// acc (this thread's elements of the block's tile, where ssd_at<MODE, FRAG> puts them) (+)= sum over
// k in [k0, k1) of A(m, k) B(k, n), A read through oa with each element passed through fa(m, k,
// value) (the decays and masks), B through ob and fb(n, k, value); ADD false: acc = the product. AK /
// BK: the operand is contiguous in memory along k (else along m / n). sm: the block's
// SSD_STAGE_DECL. Slices of SSD_TK steps of k are read as 16-byte quads into registers while the
// previous slice is multiplied, and staged in two alternating buffers (one barrier a slice); the
// modifiers run as a quad is staged, not as it is loaded, so that no warp waits on a slice's loads
// before multiplying the previous one (the loads' latency, not the tensor cores, bounded these
// kernels). pre() runs once, after the first slice's loads are issued: a kernel's prologue (the
// tables its modifiers read, then a barrier) overlaps them. k0, k1 the same for the whole block. On tensor cores (MODE not SSD_FP32) warp w multiplies rows 16 (w %
// 4) and columns 32 (w / 4) of the tile; without FRAG acc goes through the staging area into that
// layout and back (two barriers, each way), so callers see the tile layout; with FRAG acc is the
// accumulators themselves (ADD: acc holds a previous product in the fragment layout). kseg > 0 (a
// multiple of SSD_TK dividing k1 - k0; ADD false): the k range is segments of kseg (one head's
// channels, say) and after each one hook(segment, acc) sees that segment's product alone, while the
// next segment's first slice is already on its way; acc then restarts from 0.
template <int MODE, bool AK, bool BK, bool ADD, bool FRAG = false, typename FA, typename FB, typename HOOK, typename PRE = SsdNoPre>
__device__ __forceinline__ void ssd_mm_run(float (&acc)[4][4], float* sm, int k0, int k1, int kseg, SsdOp oa, SsdOp ob, FA fa,
                                           FB fb, HOOK hook, PRE pre = PRE()) {
    // the products go straight into acc: on CUDA cores always, on tensor cores in the fragment layout
    constexpr bool DIRECT = MODE == SSD_FP32 || FRAG;
    float* Cs = sm;
    int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    if constexpr (!ADD) ssd_zero(acc);
    if (k0 >= k1) {
        pre();
        return;
    }
    bool va = ((size_t)oa.p & 15) == 0 && (oa.ld & 3) == 0, vb = ((size_t)ob.p & 15) == 0 && (ob.ld & 3) == 0;
    float ra[2][4], rb[2][4];
    int xa[2], ka[2], xb[2], kb2[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        ssd_quad<MODE, AK>(tid + r * SSD_THREADS, xa[r], ka[r]);
        ssd_quad<MODE, BK>(tid + r * SSD_THREADS, xb[r], kb2[r]);
    }
    auto fetch = [&](int kb) {
#pragma unroll
        for (int r = 0; r < 2; r++) {
            ssd_load<AK>(ra[r], oa, va, xa[r], kb + ka[r], k1);
            ssd_load<BK>(rb[r], ob, vb, xb[r], kb + kb2[r], k1);
        }
    };
    [[maybe_unused]] int lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3, wm = (warp & 3) * 16, wn = (warp >> 2) * 32;
    // the mma accumulators: acc itself in the fragment layout, else their own registers
    [[maybe_unused]] float dOwn[4][4];
    float (&d)[4][4] = FRAG ? acc : dOwn;
    auto zeroD = [&]() {
#pragma unroll
        for (int ni = 0; ni < 4; ni++)
#pragma unroll
            for (int q = 0; q < 4; q++) d[ni][q] = 0.f;
    };
    // d into acc through Cs; no warp may still read the staging area
    auto flush = [&]() {
        if constexpr (!DIRECT) {
#pragma unroll
            for (int ni = 0; ni < 4; ni++)
#pragma unroll
                for (int q = 0; q < 4; q++) Cs[(wm + g + (q >> 1) * 8) * SSD_LDC + wn + ni * 8 + 2 * t + (q & 1)] = d[ni][q];
            __syncthreads();
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = Cs[(ty * 4 + i) * SSD_LDC + tx * 4 + j];
            __syncthreads();  // the staging area is the next slice's
        }
    };
    if constexpr (!DIRECT) {
        if constexpr (ADD) {
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) Cs[(ty * 4 + i) * SSD_LDC + tx * 4 + j] = acc[i][j];
            __syncthreads();
#pragma unroll
            for (int ni = 0; ni < 4; ni++)
#pragma unroll
                for (int q = 0; q < 4; q++) d[ni][q] = Cs[(wm + g + (q >> 1) * 8) * SSD_LDC + wn + ni * 8 + 2 * t + (q & 1)];
            __syncthreads();  // the slices overwrite Cs
        } else {
            zeroD();
        }
    }
    // element (m, k) / (k, n) of the staged slices, in the layout ssd_stage gave them
    auto at = [&](const float* S, bool ck, int x, int k) { return ck && MODE != SSD_FP32 ? S[x * SSD_LDK + k] : S[k * SSD_LDM + x]; };
    fetch(k0);
    pre();
    int buf = 0;
    for (int kb = k0; kb < k1; kb += SSD_TK, buf ^= 1) {
        // the buffer written here was last read two slices ago, before the barrier of the slice between
        float* As = sm + buf * 2 * SSD_SLICE;
        float* Bs = As + SSD_SLICE;
#pragma unroll
        for (int r = 0; r < 2; r++) {
            ssd_modify<AK>(ra[r], oa, xa[r], kb + ka[r], k1, fa);
            ssd_modify<BK>(rb[r], ob, xb[r], kb + kb2[r], k1, fb);
            ssd_stage<MODE, AK>(As, ra[r], xa[r], ka[r]);
            ssd_stage<MODE, BK>(Bs, rb[r], xb[r], kb2[r]);
        }
        __syncthreads();
        if (kb + SSD_TK < k1) fetch(kb + SSD_TK);
        if constexpr (MODE != SSD_FP32) {
#pragma unroll
            for (int ks = 0; ks < SSD_TK; ks += 8) {
                float av[4] = {at(As, AK, wm + g, ks + t), at(As, AK, wm + g + 8, ks + t), at(As, AK, wm + g, ks + t + 4),
                               at(As, AK, wm + g + 8, ks + t + 4)};
                unsigned ab[4], as[4];
#pragma unroll
                for (int i = 0; i < 4; i++) {
                    if constexpr (MODE == SSD_TF32) ab[i] = __float_as_uint(av[i]);
                    else {
                        ab[i] = ssd_tf32(av[i]);
                        as[i] = ssd_tf32(av[i] - __uint_as_float(ab[i]));
                    }
                }
#pragma unroll
                for (int ni = 0; ni < 4; ni++) {
                    float b0 = at(Bs, BK, wn + ni * 8 + g, ks + t), b1 = at(Bs, BK, wn + ni * 8 + g, ks + t + 4);
                    if constexpr (MODE == SSD_TF32X3) {
                        unsigned bb0 = ssd_tf32(b0), bb1 = ssd_tf32(b1);
                        unsigned bs0 = ssd_tf32(b0 - __uint_as_float(bb0)), bs1 = ssd_tf32(b1 - __uint_as_float(bb1));
                        ssd_mma(d[ni], as, bb0, bb1);
                        ssd_mma(d[ni], ab, bs0, bs1);
                        ssd_mma(d[ni], ab, bb0, bb1);
                    } else {
                        ssd_mma(d[ni], ab, __float_as_uint(b0), __float_as_uint(b1));
                    }
                }
            }
        } else {
#pragma unroll 8
            for (int kk = 0; kk < SSD_TK; kk++) {
                float4 a = *(const float4*)(As + kk * SSD_LDM + ty * 4);
                float4 b = *(const float4*)(Bs + kk * SSD_LDM + tx * 4);
                float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
                for (int i = 0; i < 4; i++)
#pragma unroll
                    for (int j = 0; j < 4; j++) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
            }
        }
        if (kseg > 0 && (kb + SSD_TK - k0) % kseg == 0) {
            if constexpr (!DIRECT) {
                __syncthreads();
                flush();
            }
            hook((kb + SSD_TK - k0) / kseg - 1, acc);
            ssd_zero(acc);
            if constexpr (!DIRECT) zeroD();
        }
    }
    __syncthreads();  // every warp is done with the staging area (Cs, or the next product's slices)
    if (kseg == 0) flush();
}

template <int MODE, bool AK, bool BK, bool ADD = true, bool FRAG = false, typename FA = SsdAsIs, typename FB = SsdAsIs,
          typename PRE = SsdNoPre>
__device__ __forceinline__ void ssd_mm(float (&acc)[4][4], float* sm, int k0, int k1, SsdOp oa, SsdOp ob, FA fa = FA(), FB fb = FB(),
                                       PRE pre = PRE()) {
    ssd_mm_run<MODE, AK, BK, ADD, FRAG>(acc, sm, k0, k1, 0, oa, ob, fa, fb, SsdNoHook(), pre);
}

// Sum over the 16 threads of a tile row (tx, lanes 16 apart in one warp), or over the WIDTH of them in
// the same aligned run of tx: every one of them gets it.
template <int WIDTH = 16>
__device__ __forceinline__ double ssd_row_sum(double v) {
    for (int o = 1; o < WIDTH; o <<= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// In the fragment layout a thread holds two rows of its warp's band, g (r0, its part) and g + 8 (r1):
// their sums over the warp's 32 columns (the 4 lanes t), the pairs t, t ^ 2 trading one row for the
// other. Lane 4 g + t gets row g + 8 ((t >> 1) & 1)'s.
__device__ __forceinline__ double ssd_frag_row_sum(double r0, double r1) {
    int hi = (threadIdx.x >> 1) & 1;
    double r = (hi ? r1 : r0) + __shfl_xor_sync(FULL_MASK, hi ? r0 : r1, 2);
    return r + __shfl_xor_sync(FULL_MASK, r, 1);
}

// Sum of v over the threads after this one in the block (threadIdx.x + 1 ...), for every thread; all
// threads call it.
template <typename T>
__device__ T ssd_block_suffix(T v) {
    __shared__ T wsum[32];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    T incl = v, tot = v;
    for (int o = 1; o < 32; o <<= 1) {
        T u = __shfl_up_sync(FULL_MASK, incl, o);
        if (lane >= o) incl += u;
        tot += __shfl_xor_sync(FULL_MASK, tot, o);
    }
    __syncthreads();  // wsum may still be read by a previous call
    if (lane == 0) wsum[warp] = tot;
    __syncthreads();
    T after = tot - incl;
    for (int k = warp + 1; k < warps; k++) after += wsum[k];
    return after;
}

// The backward's per (row, head) partial sums, one slot each, written once by the block that owns it
// and added up by ssd_bwd_finish (no atomics: the same bits every run). With T = tiles of Q, JT of N,
// PT of P: [0, T) sum_s dM M by s tile (ssd_bwd_dcb, rows), [T, 2T) the same by t tile (columns),
// [2T, 3T) sum_t dM G E by t tile, [3T, 3T + 2 JT) exp(l_t) dy_t . (H0 C_t) by half (32 states) of a
// state tile (ssd_bwd_dc: a half is what one warp holds of a row in the fragment layout, so no
// warps meet to add), then dq_s = x_s . (carry B_s) and dy_s . x_s by channel tile (ssd_bwd_dx).
__device__ __forceinline__ int ssd_slots(int Q, int N, int P) { return 3 * ssd_tiles(Q) + 2 * ssd_tiles(N) + 2 * ssd_tiles(P); }

// Sum of v over the threads before this one in the block (0 .. threadIdx.x - 1), for every thread; all
// threads call it.
template <typename T>
__device__ T ssd_block_prefix(T v) {
    __shared__ T wsum[32];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    T incl = v;
    for (int o = 1; o < 32; o <<= 1) {
        T u = __shfl_up_sync(FULL_MASK, incl, o);
        if (lane >= o) incl += u;
    }
    T excl = __shfl_up_sync(FULL_MASK, incl, 1);
    if (lane == 0) excl = 0;
    __syncthreads();  // wsum may still be read by a previous call
    if (lane == 31) wsum[warp] = incl;
    __syncthreads();
    T before = 0;
    for (int k = 0; k < warp; k++) before += wsum[k];
    return before + excl;
}

// Block per (sequence, chunk, head): w, l and (if gw) d w / d pre. Each thread takes a run of steps;
// the runs' sums of w A are scanned across the block, in double.
extern "C" __global__ void ssd_time_steps(float* w, double* l, float* gw, const float* dt, const float* dtBias,
                                          const float* A, int batch, int len, int heads, int Q, float dtMin, float dtMax) {
    int nc = ssd_chunks(len, Q);
    int h = blockIdx.x % heads, bc = blockIdx.x / heads, c = bc % nc, b = bc / nc;
    int t0 = c * Q, lc = min(Q, len - t0), run = (lc + blockDim.x - 1) / blockDim.x;
    int ta = min(lc, (int)threadIdx.x * run), tb = min(lc, ta + run);
    float bias = dtBias[h], a = A[h];
    i64 base = ((i64)b * len + t0) * heads + h;
    double part = 0;
    for (int t = ta; t < tb; t++) {
        i64 at = base + (i64)t * heads;
        float pre = dt[at] + bias;
        float sp = ssd_softplus(pre);
        float v = fminf(fmaxf(sp, dtMin), dtMax);
        w[at] = v;
        part += (double)v * a;
        if (gw) gw[at] = sp < dtMin || sp > dtMax ? 0.f : pre > 20.f ? 1.f : (float)(1.0 / (1.0 + exp(-(double)pre)));
    }
    double sum = ssd_block_prefix<double>(part);
    for (int t = ta; t < tb; t++) {
        i64 at = base + (i64)t * heads;
        sum += (double)w[at] * a;
        l[at] = sum;
    }
}

// ---- chunk states and local carries (ssd_chunk_state, ssd_carry_local): a block per (sequence, chunk,
// head) and tile of 64 channels x SSD_STATE_TN states, so x (dy), the large operand, is read once (in
// 64 x 64 tiles each of the state's two tiles read it again, from DRAM: the grid walked every chunk of
// one tile before the other). On tensor cores with 16-byte-aligned operands the k range (the chunk's
// steps) is copied by cp.async into SSD_STATE_STAGES buffers of SSD_STATE_TK steps, the next
// SSD_STATE_STAGES - 1 slices in flight while one is multiplied (one barrier a slice); the decay
// weights multiply x as its fragments are read. Elsewhere (fp32, odd widths) the tile is two ssd_mm
// products of 64 states. H200, 130m-mamba2 8 x 2048, us a call (64 x 64 tiles before): chunk_state
// TF32 155 -> 113-122, 3xTF32 255 -> 182-185; carry_local TF32 135 -> 102, 3xTF32 221 -> 166.
#define SSD_STATE_TN 128
#define SSD_STATE_TK 16
// slices in flight: 3 keeps the staging area (39 KB) and the weights under 48 KB (no raised limit) and
// measured as fast as 4 (H200, 130m-mamba2 8 x 2048)
#ifndef SSD_STATE_STAGES
#define SSD_STATE_STAGES 3
#endif
// row strides of a staged slice ([k][channel], [k][state]): 8 mod 32 floats, so the 16-byte fragment
// reads (steps t, channels or states 4 g .. 4 g + 3 of lane 4 g + t) of each quarter warp hit all 32 banks
#define SSD_STATE_LDA (SSD_T + 8)
#define SSD_STATE_LDB (SSD_STATE_TN + 8)
#define SSD_STATE_STAGE (SSD_STATE_TK * (SSD_STATE_LDA + SSD_STATE_LDB))
// bytes of the staging area (either path's), at the start of the dynamic shared memory; the decay
// weights follow it, one float a step of the chunk rounded up to SSD_STATE_TK
#define SSD_STATE_SHARED (4 * (SSD_STATE_STAGES * SSD_STATE_STAGE > 4 * SSD_SLICE ? SSD_STATE_STAGES * SSD_STATE_STAGE : 4 * SSD_SLICE))
// blocks per SM: on tensor cores (the 32 accumulators, fragments and TF32 splits of a thread: 3 blocks
// = 80 registers, spilling 8-20 bytes, measured as fast as 2 at 110-114 without) and in fp32 (at 4
// blocks, 64 registers, the loop over two 64-state products spilled 32 bytes)
#ifndef SSD_MINB_STATE
#define SSD_MINB_STATE 3
#endif
#ifndef SSD_MINB_STATE_FP32
#define SSD_MINB_STATE_FP32 3
#endif
SSMTK_EXPORT(SSD_STATE_TN)
SSMTK_EXPORT(SSD_STATE_TK)
SSMTK_EXPORT(SSD_STATE_SHARED)
static_assert(SSD_STATE_TK % 8 == 0 && SSD_THREADS == 256 && SSD_STATE_TK * SSD_T % (4 * SSD_THREADS) == 0,
              "the tensor-core path's slices, warps and copies");

// 16 bytes from global src to shared dst without waiting (cp.async; zeros when !in, src then unread)
__device__ __forceinline__ void ssd_cp16(float* dst, const float* src, bool in) {
#ifdef __CUDA_ARCH__
    unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(d), "l"(src), "r"(in ? 16 : 0) : "memory");
#else
    for (int i = 0; i < 4; i++) dst[i] = in ? src[i] : 0.f;
#endif
}

__device__ __forceinline__ void ssd_cp_commit() {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

// waits until at most n of this thread's committed copy groups are still in flight
template <int n>
__device__ __forceinline__ void ssd_cp_wait() {
#ifdef __CUDA_ARCH__
    asm volatile("cp.async.wait_group %0;" ::"n"(n) : "memory");
#endif
}

// Block per (sequence, chunk, head) and tile of 64 channels x SSD_STATE_TN states (p, j): out[p, j] =
// sum_s coef_s u[s, h P + p] v[s, g N + j] over the chunk's steps, into the chunk's slot of S.
// Forward (CARRY false): u = x, v = B, coef_s = exp(l_last - l_s) w_s, the chunk's own part of the
// state leaving it. Backward (CARRY true): u = dy, v = C, coef_t = exp(l_t), the chunk's own part of
// the adjoint of the state entering it. Dynamic shared memory: SSD_STATE_SHARED bytes and Q floats
// rounded up to SSD_STATE_TK.
template <int MODE, bool CARRY>
__device__ void ssd_outer_sum(float* S, const float* u, const float* v, const float* w, const double* l, int len,
                              int heads, int P, int groups, int N, int Q) {
    extern __shared__ float dyn[];
    float* sm = dyn;
    float* coef = dyn + SSD_STATE_SHARED / 4;
    int nc = ssd_chunks(len, Q);
    int h = blockIdx.x % heads, bc = blockIdx.x / heads, c = bc % nc, b = bc / nc;
    int g = h / (heads / groups), di = heads * P, gn = groups * N, jTiles = (N + SSD_STATE_TN - 1) / SSD_STATE_TN;
    int p0 = blockIdx.y / jTiles * SSD_T, j0 = blockIdx.y % jTiles * SSD_STATE_TN;
    int t0 = c * Q, lc = min(Q, len - t0), tid = threadIdx.x;
    i64 row0 = (i64)b * len + t0;
    const float* ub = u + row0 * di + h * P;
    const float* vb = v + row0 * gn + g * N;
    float* out = S + ((i64)bc * heads + h) * P * N;
    // every quad of 4 channels or states wholly inside or outside, 16-byte aligned
    bool fast = MODE != SSD_FP32 && (P & 3) == 0 && (N & 3) == 0 && (((size_t)u | (size_t)v | (size_t)S) & 15) == 0;
    int kEnd = fast ? (lc + SSD_STATE_TK - 1) / SSD_STATE_TK * SSD_STATE_TK : lc;
    if constexpr (MODE != SSD_FP32) {
        if (fast) {
            // slice kt's copies: a thread 1 quad of u and 2 of v a slice; steps past lc read as zeros
            auto load = [&](int kt) {
                float* As = sm + (kt % SSD_STATE_STAGES) * SSD_STATE_STAGE;
                float* Bs = As + SSD_STATE_TK * SSD_STATE_LDA;
                int kb = kt * SSD_STATE_TK;
#pragma unroll
                for (int i = 0; i < SSD_STATE_TK * SSD_T / 4 / SSD_THREADS; i++) {
                    int q = tid + i * SSD_THREADS, r = q / (SSD_T / 4), x = q % (SSD_T / 4) * 4;
                    bool in = kb + r < lc && p0 + x < P;
                    ssd_cp16(As + r * SSD_STATE_LDA + x, in ? ub + (i64)(kb + r) * di + p0 + x : ub, in);
                }
#pragma unroll
                for (int i = 0; i < SSD_STATE_TK * SSD_STATE_TN / 4 / SSD_THREADS; i++) {
                    int q = tid + i * SSD_THREADS, r = q / (SSD_STATE_TN / 4), x = q % (SSD_STATE_TN / 4) * 4;
                    bool in = kb + r < lc && j0 + x < N;
                    ssd_cp16(Bs + r * SSD_STATE_LDB + x, in ? vb + (i64)(kb + r) * gn + j0 + x : vb, in);
                }
            };
            int nk = kEnd / SSD_STATE_TK;
#pragma unroll
            for (int s = 0; s < SSD_STATE_STAGES - 1; s++) {
                if (s < nk) load(s);
                ssd_cp_commit();
            }
            // the weights while the first slices are on their way (the loop's first barrier publishes them)
            double last = l[(row0 + lc - 1) * heads + h];
            for (int s = tid; s < kEnd; s += SSD_THREADS) {
                float cs = 0.f;
                if (s < lc) {
                    double ls = l[(row0 + s) * heads + h];
                    cs = CARRY ? expf((float)ls) : expf((float)(last - ls)) * w[(row0 + s) * heads + h];
                }
                coef[s] = cs;
            }
            // warp w: channels 32 (w % 2), states 32 (w / 2) of the tile; row r of its mma fragment mi is
            // channel 4 (r % 8) + 2 mi + r / 8, column n of fragment ni state 4 n + ni (any order of the
            // rows and columns multiplies the same, and this one makes each lane's fragments of a step
            // one 16-byte read per operand: channels and states 4 g .. 4 g + 3)
            int lane = tid & 31, warp = tid >> 5, gq = lane >> 2, t = lane & 3, wm = (warp & 1) * 32, wn = (warp >> 1) * 32;
            float d[2][4][4];
#pragma unroll
            for (int mi = 0; mi < 2; mi++)
#pragma unroll
                for (int ni = 0; ni < 4; ni++)
#pragma unroll
                    for (int q = 0; q < 4; q++) d[mi][ni][q] = 0.f;
            for (int kt = 0; kt < nk; kt++) {
                ssd_cp_wait<SSD_STATE_STAGES - 2>();
                // slice kt is in for every thread, and every warp is done with the buffer refilled next
                __syncthreads();
                if (kt + SSD_STATE_STAGES - 1 < nk) load(kt + SSD_STATE_STAGES - 1);
                ssd_cp_commit();
                const float* As = sm + (kt % SSD_STATE_STAGES) * SSD_STATE_STAGE + wm + 4 * gq;
                const float* Bs = sm + (kt % SSD_STATE_STAGES) * SSD_STATE_STAGE + SSD_STATE_TK * SSD_STATE_LDA + wn + 4 * gq;
                const float* cf = coef + kt * SSD_STATE_TK;
                // a warp whose states all lie past N (dna-mamba2's 64 states) has nothing to multiply
                if (wn >= N - j0) continue;
#pragma unroll
                for (int ks = 0; ks < SSD_STATE_TK; ks += 8) {
                    float c0 = cf[ks + t], c1 = cf[ks + t + 4];
                    float4 a0 = *(const float4*)(As + (ks + t) * SSD_STATE_LDA), a1 = *(const float4*)(As + (ks + t + 4) * SSD_STATE_LDA);
                    float4 b0 = *(const float4*)(Bs + (ks + t) * SSD_STATE_LDB), b1 = *(const float4*)(Bs + (ks + t + 4) * SSD_STATE_LDB);
                    float av[2][4] = {{a0.x * c0, a0.y * c0, a1.x * c1, a1.y * c1}, {a0.z * c0, a0.w * c0, a1.z * c1, a1.w * c1}};
                    float bv[4][2] = {{b0.x, b1.x}, {b0.y, b1.y}, {b0.z, b1.z}, {b0.w, b1.w}};
                    unsigned ab[2][4], as[2][4], bb[4][2], bs[4][2];
#pragma unroll
                    for (int mi = 0; mi < 2; mi++)
#pragma unroll
                        for (int i = 0; i < 4; i++) ssd_tf32_split<MODE>(av[mi][i], ab[mi][i], as[mi][i]);
#pragma unroll
                    for (int ni = 0; ni < 4; ni++)
#pragma unroll
                        for (int i = 0; i < 2; i++) ssd_tf32_split<MODE>(bv[ni][i], bb[ni][i], bs[ni][i]);
#pragma unroll
                    for (int mi = 0; mi < 2; mi++)
#pragma unroll
                        for (int ni = 0; ni < 4; ni++) {
                            if constexpr (MODE == SSD_TF32X3) {
                                ssd_mma(d[mi][ni], as[mi], bb[ni][0], bb[ni][1]);
                                ssd_mma(d[mi][ni], ab[mi], bs[ni][0], bs[ni][1]);
                            }
                            ssd_mma(d[mi][ni], ab[mi], bb[ni][0], bb[ni][1]);
                        }
                }
            }
            // d[mi][ni][q]: channel 4 gq + 2 mi + q / 2, state 8 t + 4 (q % 2) + ni of the warp's part, so a
            // lane holds 4 channels x 8 adjacent states: two 16-byte stores a channel
#pragma unroll
            for (int mi = 0; mi < 2; mi++)
#pragma unroll
                for (int hi = 0; hi < 2; hi++) {
                    int p = p0 + wm + 4 * gq + 2 * mi + hi;
                    if (p >= P) continue;
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        int jj = j0 + wn + 8 * t + 4 * e, q = 2 * hi + e;
                        if (jj < N) *(float4*)(out + (i64)p * N + jj) = make_float4(d[mi][0][q], d[mi][1][q], d[mi][2][q], d[mi][3][q]);
                    }
                }
            return;
        }
    }
    double last = l[(row0 + lc - 1) * heads + h];
    for (int s = tid; s < lc; s += SSD_THREADS) {
        double ls = l[(row0 + s) * heads + h];
        coef[s] = CARRY ? expf((float)ls) : expf((float)(last - ls)) * w[(row0 + s) * heads + h];
    }
    __syncthreads();
    // by pairs of adjacent states (j, j + 1) in either layout of ssd_at, 8 bytes where N is even
    bool pairs = (N & 1) == 0 && ((size_t)S & 7) == 0;
#pragma unroll 1
    for (int jh = j0; jh < min(N, j0 + SSD_STATE_TN); jh += SSD_T) {
        float acc[4][4];
        ssd_mm<MODE, false, false, false, true>(acc, sm, 0, lc, SsdOp{ub + p0, di, P - p0}, SsdOp{vb + jh, gn, N - jh},
                                                [&](int, int s, float v) { return coef[s] * v; });
        ssd_each<MODE, 2>([&](int i, int j, int ml, int nl) {
            int p = p0 + ml, jj = jh + nl;
            if (p >= P || jj >= N) return;
            if (pairs) *(float2*)(out + (i64)p * N + jj) = make_float2(acc[i][j], acc[i][j + 1]);
            else
                for (int e = 0; e < 2 && jj + e < N; e++) out[(i64)p * N + jj + e] = acc[i][j + e];
        });
    }
}

// the entries of ssd_chunk_state and ssd_carry_local (SSD_ENTRIES's, with their own blocks per SM)
#define SSD_STATE_ENTRIES(NAME, PARAMS, ARGS)                                                                                      \
    extern "C" __global__ void __launch_bounds__(SSD_THREADS, SSD_MINB_STATE_FP32) NAME PARAMS { NAME##_body<SSD_FP32> ARGS; }           \
    extern "C" __global__ void __launch_bounds__(SSD_THREADS, SSD_MINB_STATE) NAME##_tf32x3 PARAMS { NAME##_body<SSD_TF32X3> ARGS; } \
    extern "C" __global__ void __launch_bounds__(SSD_THREADS, SSD_MINB_STATE) NAME##_tf32 PARAMS { NAME##_body<SSD_TF32> ARGS; }

template <int MODE>
__device__ __forceinline__ void ssd_chunk_state_body(float* S, const float* x, const float* B, const float* w, const double* l,
                                           int len, int heads, int P, int groups, int N, int Q) {
    ssd_outer_sum<MODE, false>(S, x, B, w, l, len, heads, P, groups, N, Q);
}
SSD_STATE_ENTRIES(ssd_chunk_state, (float* S, const float* x, const float* B, const float* w, const double* l, int len, int heads, int P, int groups, int N, int Q),
            (S, x, B, w, l, len, heads, P, groups, N, Q))

template <int MODE>
__device__ __forceinline__ void ssd_carry_local_body(float* U, const float* dy, const float* C, const double* l, int len, int heads,
                                           int P, int groups, int N, int Q) {
    ssd_outer_sum<MODE, true>(U, dy, C, nullptr, l, len, heads, P, groups, N, Q);
}
SSD_STATE_ENTRIES(ssd_carry_local, (float* U, const float* dy, const float* C, const double* l, int len, int heads, int P, int groups, int N, int Q),
            (U, dy, C, l, len, heads, P, groups, N, Q))

// chunks read ahead by the passes below: a thread's walk is a chain of dependent steps, so its loads
// are issued SSD_AHEAD at a time rather than one per step
#define SSD_AHEAD 8

// Thread per (sequence, head, state element), chunks in order: each chunk's slot of states holds its
// own part S on entry and the state entering the chunk on exit; H <- exp(l_last) H + S. running
// (batch, heads, P, N), when given, is the state before the first chunk and receives the last one.
extern "C" __global__ void ssd_state_pass(float* states, float* running, const double* l, int batch, int len, int heads,
                                          int pn, int Q) {
    int nc = ssd_chunks(len, Q);
    i64 total = (i64)batch * heads * pn;
    for (i64 i = gtid(); i < total; i += gstride()) {
        int e = (int)(i % pn);
        i64 bh = i / pn;
        int h = (int)(bh % heads), b = (int)(bh / heads);
        float H = running ? running[i] : 0.f;
        for (int c0 = 0; c0 < nc; c0 += SSD_AHEAD) {
            float s[SSD_AHEAD], d[SSD_AHEAD];
#pragma unroll
            for (int k = 0; k < SSD_AHEAD; k++) {
                int c = c0 + k;
                if (c < nc) {
                    int t0 = c * Q, lc = min(Q, len - t0);
                    s[k] = states[(((i64)b * nc + c) * heads + h) * pn + e];
                    d[k] = expf((float)l[((i64)b * len + t0 + lc - 1) * heads + h]);
                }
            }
#pragma unroll
            for (int k = 0; k < SSD_AHEAD; k++) {
                int c = c0 + k;
                if (c < nc) {
                    states[(((i64)b * nc + c) * heads + h) * pn + e] = H;
                    H = d[k] * H + s[k];
                }
            }
        }
        if (running) running[i] = H;
    }
}

// Slots of ssd_carry_pass's <carry, H0> per (sequence, chunk, head): one per warp of 32 state elements.
__device__ __forceinline__ int ssd_held_slots(int pn) { return (pn + 31) / 32; }

// The same walk backwards for the adjoints, a block per (sequence, head) and run of SSD_THREADS state
// elements (thread per element): each chunk's slot holds its own part U on entry and the adjoint of the state
// leaving the chunk on exit; dH <- exp(l_last) dH + U going one chunk back. On the way each warp adds
// its 32 elements of carry o H0 (H0 = the kept state entering the chunk) in double into its slot of
// held (batch, nc, heads, ssd_held_slots(pn)), which ssd_bwd_finish adds up in a fixed order (no
// atomics), so that kernel does not read the carries and the states again. 64 registers (4 blocks an
// SM), as the walk had when it was grid-stride.
extern "C" __global__ void __launch_bounds__(SSD_THREADS, 4) ssd_carry_pass(float* carries, double* held, const float* states,
                                                                             const double* l, int batch, int len, int heads,
                                                                             int pn, int Q) {
    int nc = ssd_chunks(len, Q), W = ssd_held_slots(pn);
    int bh = blockIdx.x, h = bh % heads, b = bh / heads;
    int e = blockIdx.y * blockDim.x + threadIdx.x, wslot = e >> 5;
    if (wslot >= W) return;  // whole warps past the elements (pn is at most 31 short of 32 W)
    bool in = e < pn;
    // chunk c's element e at c stride; its held slot at c heads W
    i64 stride = (i64)heads * pn;
    float* cb = carries + ((i64)b * nc * heads + h) * pn + e;
    const float* sb = states + ((i64)b * nc * heads + h) * pn + e;
    double* hb = held + ((i64)b * nc * heads + h) * W + wslot;
    float dH = 0.f;
    for (int c0 = nc - 1; c0 >= 0; c0 -= SSD_AHEAD) {
        float u[SSD_AHEAD], d[SSD_AHEAD], h0[SSD_AHEAD];
#pragma unroll
        for (int k = 0; k < SSD_AHEAD; k++) {
            int c = c0 - k;
            if (c >= 0) {
                int t0 = c * Q, lc = min(Q, len - t0);
                u[k] = in ? cb[c * stride] : 0.f;
                h0[k] = in ? sb[c * stride] : 0.f;
                d[k] = expf((float)l[((i64)b * len + t0 + lc - 1) * heads + h]);
            }
        }
#pragma unroll
        for (int k = 0; k < SSD_AHEAD; k++) {
            int c = c0 - k;
            if (c >= 0) {
                if (in) cb[c * stride] = dH;
                double v = (double)dH * h0[k];
#pragma unroll
                for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
                if ((threadIdx.x & 31) == 0) hb[(i64)c * heads * W] = v;
                dH = d[k] * dH + u[k];
            }
        }
    }
}

// Block per (sequence, chunk, group) and tile pair (t tile, s tile <= t tile): G[t][s] = C_t . B_s into
// the chunk's Q x Q slot of G (batch, nc, groups, Q, Q); tiles above the diagonal are never read.
template <int MODE>
__device__ __forceinline__ void ssd_gram_body(float* G, const float* B, const float* C, int len, int groups, int N, int Q) {
    SSD_STAGE_DECL
    int nc = ssd_chunks(len, Q);
    int g = blockIdx.x % groups, bc = blockIdx.x / groups, c = bc % nc, b = bc / nc;
    int tt, st;
    ssd_pair(blockIdx.y, tt, st);
    int t0c = c * Q, lc = min(Q, len - t0c), r0 = tt * SSD_T, s0 = st * SSD_T, gn = groups * N;
    if (r0 >= lc) return;
    i64 row0 = (i64)b * len + t0c;
    const float* cb = C + row0 * gn + g * N;
    const float* bb = B + row0 * gn + g * N;
    float acc[4][4];
    ssd_mm<MODE, true, true, false, true>(acc, sm, 0, N, SsdOp{cb + (i64)r0 * gn, gn, lc - r0},
                                          SsdOp{bb + (i64)s0 * gn, gn, lc - s0});
    float* out = G + ((i64)bc * groups + g) * Q * Q;
    ssd_each<MODE>([&](int i, int j, int ml, int nl) {
        int t = r0 + ml, s = s0 + nl;
        if (t < lc && s < lc) out[t * Q + s] = acc[i][j];
    });
}
SSD_ENTRIES(ssd_gram, SSD_MINB_PLAIN, (float* G, const float* B, const float* C, int len, int groups, int N, int Q),
            (G, B, C, len, groups, N, Q))

// Block per (sequence, chunk, head) and tile of (t, p): y[t, p] = D x_t + sum_{s <= t} G[t][s]
// exp(l_t - l_s) w_s x_s + exp(l_t) (H C_t)[p], H the entering state (states may be 0: a zero state).
// Below the diagonal tile (s < r0 <= t) the decay splits at the tile's first step r0 into exp(l_t -
// l_r0) exp(l_r0 - l_s), both at most 1 (l falls along the chunk): scales of G's rows and of x's rows
// on the way in, so that only the diagonal tile's slices compute an exponential per element. Dynamic shared memory: Q doubles (l), then Q floats (w), Q floats (the scales of x's rows).
template <int MODE>
__device__ __forceinline__ void ssd_chunk_output_body(float* y, const float* x, const float* C, const float* D, const float* G,
                                            const float* states, const float* w, const double* l, int len, int heads,
                                            int P, int groups, int N, int Q) {
    extern __shared__ double lcol[];
    SSD_STAGE_DECL
    __shared__ float erow[SSD_T], frow[SSD_T];
    float* wcol = (float*)(lcol + Q);
    float* kcol = wcol + Q;
    int nc = ssd_chunks(len, Q), unit, part;
    ssd_unit(unit, part);
    int h = unit % heads, bc = unit / heads, c = bc % nc, b = bc / nc;
    int g = h / (heads / groups), di = heads * P, gn = groups * N, pTiles = ssd_tiles(P);
    // the last t tiles first: a tile's product runs over s up to its end, so the longest blocks start
    // first and the shortest fill the end of the launch
    int r0 = (ssd_tiles(Q) - 1 - part / pTiles) * SSD_T, p0 = part % pTiles * SSD_T;
    int t0c = c * Q, lc = min(Q, len - t0c);
    if (r0 >= lc) return;
    int r1 = min(lc, r0 + SSD_T), tid = threadIdx.x;
    i64 row0 = (i64)b * len + t0c;
    // the modifiers' tables (ssd_mm's pre: filled while the first slice is on its way)
    auto tables = [&]() {
        double lr0 = l[(row0 + r0) * heads + h];
        for (int s = tid; s < r1; s += blockDim.x) {
            double ls = l[(row0 + s) * heads + h];
            float ws = w[(row0 + s) * heads + h];
            lcol[s] = ls;
            wcol[s] = ws;
            if (s < r0) kcol[s] = expf((float)(lr0 - ls)) * ws;
        }
        if (tid < SSD_T) {
            double lt = r0 + tid < r1 ? l[(row0 + r0 + tid) * heads + h] : 0.0;
            erow[tid] = r0 + tid < r1 ? expf((float)lt) : 0.f;
            frow[tid] = r0 + tid < r1 ? expf((float)(lt - lr0)) : 0.f;
        }
        __syncthreads();
    };
    if (!SSD_EARLY) tables();
    const float* gb = G + ((i64)bc * groups + g) * Q * Q;
    const float* xb = x + row0 * di + h * P;
    float acc[4][4];
    // one product over s in [0, r1): a slice lies wholly below the diagonal tile or in it (r0 is a
    // multiple of SSD_TK), so each modifier's branch is the same for the whole block
    ssd_mm<MODE, true, false, false, true>(
            acc, sm, 0, r1, SsdOp{gb + (i64)r0 * Q, Q, r1 - r0}, SsdOp{xb + p0, di, P - p0},
            [&](int m, int s, float v) {
                int t = r0 + m;
                return s < r0 ? frow[m] * v : s <= t ? v * ssd_decay<MODE>(lcol[t] - lcol[s]) * wcol[s] : 0.f;
            },
            [&](int, int s, float v) { return s < r0 ? kcol[s] * v : v; },
            [&]() {
                if (SSD_EARLY) tables();
            });
    if (states) {
        const float* h0 = states + ((i64)bc * heads + h) * P * N;
        const float* cb = C + row0 * gn + g * N;
        ssd_mm<MODE, true, true, true, true>(acc, sm, 0, N, SsdOp{cb + (i64)r0 * gn, gn, r1 - r0},
                                             SsdOp{h0 + (i64)p0 * N, N, P - p0}, [&](int m, int, float v) { return erow[m] * v; });
    }
    // acc in the fragment layout (both products added there, never through shared memory): this
    // thread's elements by pairs of adjacent channels (i, j), (i, j + 1), 8 bytes where the rows allow
    bool pairs = (P & 1) == 0 && (((size_t)y | (size_t)x) & 7) == 0;
    float dSkip = D[h];
    ssd_each<MODE, 2>([&](int i, int j, int ml, int nl) {
        int t = r0 + ml, p = p0 + nl;
        if (t >= r1 || p >= P) return;
        i64 at = (row0 + t) * di + h * P + p;
        if (pairs) {
            float2 xv = *(const float2*)(x + at);
            *(float2*)(y + at) = make_float2(acc[i][j] + dSkip * xv.x, acc[i][j + 1] + dSkip * xv.y);
        } else {
            for (int e = 0; e < 2 && p + e < P; e++) y[at + e] = acc[i][j + e] + dSkip * x[at + e];
        }
    });
}
SSD_ENTRIES(ssd_chunk_output, SSD_MINB_OUTPUT, (float* y, const float* x, const float* C, const float* D, const float* G, const float* states, const float* w, const double* l, int len, int heads, int P, int groups, int N, int Q),
            (y, x, C, D, G, states, w, l, len, heads, P, groups, N, Q))

// One decoding step (len 1, no kept states): block per (sequence, head), thread per channel p walks
// its row of the state: H = exp(w A) H + w x B^T, y = H C + D x. state (batch, heads, P, N) may be 0
// (a zero state, nothing kept).
extern "C" __global__ void ssd_step(float* y, float* state, const float* x, const float* dt, const float* dtBias,
                                    const float* A, const float* B, const float* C, const float* D, int heads, int P,
                                    int groups, int N, float dtMin, float dtMax) {
    int h = blockIdx.x % heads, b = blockIdx.x / heads, g = h / (heads / groups);
    int di = heads * P, gn = groups * N;
    float v = fminf(fmaxf(ssd_softplus(dt[(i64)b * heads + h] + dtBias[h]), dtMin), dtMax);
    float decay = expf(v * A[h]);
    const float* br = B + (i64)b * gn + g * N;
    const float* cr = C + (i64)b * gn + g * N;
    for (int p = threadIdx.x; p < P; p += blockDim.x) {
        float xv = x[(i64)b * di + h * P + p], wx = v * xv, acc = 0.f;
        float* st = state ? state + ((i64)b * heads + h) * P * N + (i64)p * N : nullptr;
        for (int j = 0; j < N; j++) {
            float hv = (st ? decay * st[j] : 0.f) + wx * br[j];
            if (st) st[j] = hv;
            acc += hv * cr[j];
        }
        y[(i64)b * di + h * P + p] = acc + D[h] * xv;
    }
}

// ---- backward: ssd_time_steps (with gw), ssd_carry_local + ssd_carry_pass (carries = the adjoint of
// ---- the state leaving each chunk), ssd_gram, ssd_bwd_dcb, ssd_bwd_dc, ssd_bwd_db, ssd_bwd_dx,
// ---- ssd_bwd_finish.
// Per chunk and head, with E[t][s] = exp(l_t - l_s), G = C_t . B_s, M = G E w_s, dM = dy_t . x_s,
// dG = dM E w_s (s <= t), q_s = exp(l_last - l_s) w_s, carry = dH_out and H0 the kept entering state:
//   dC_t += sum_s dG[t][s] B_s + exp(l_t) dy_t^T H0                  (dG summed over the group's heads)
//   dB_s += sum_t dG[t][s] C_t + q_s x_s^T carry
//   dx_s += D dy_s + sum_t M[t][s] dy_t + q_s carry B_s
//   dl_t  = exp(l_t) dy_t . (H0 C_t) + sum_s dM M - sum_t' dM[t'][t] M[t'][t] - dq_t q_t,  dq_s = x_s . (carry B_s)
//   dl_last += exp(l_last) <carry, H0> + sum_s dq_s q_s,  dw_s = sum_t dM G E + exp(l_last - l_s) dq_s
// then d(w A) is the reverse cumulative sum of dl (l_t = sum_{k<=t} w_k A), which gives d dt, dA.

// Block per (sequence, chunk, group) and tile pair (t tile, s tile <= t tile), the group's heads one
// after another: dM = dy x^T by head, the tile of dG summed over the heads (=, into the chunk's Q x Q
// slot of dG), and the slots of sum dM M (rows and columns) and sum_t dM G E. On tensor cores every
// per-element value (dM, the tile of G, dG's sum) stays in the mma's fragment layout (ssd_at), so a
// head's dM never goes through shared memory.
template <int MODE>
__device__ __forceinline__ void ssd_bwd_dcb_body(float* dG, double* parts, const float* dy, const float* x, const float* G,
                                       const float* w, const double* l, int len, int heads, int P, int groups, int N,
                                       int Q) {
    // tensor cores: the fragment layout, whose rows (2 a thread) and columns (8) are summed differently
    constexpr bool TC = MODE != SSD_FP32;
    constexpr int NR = TC ? 2 : 4, NCOL = TC ? 8 : 4;
    SSD_STAGE_DECL
    // a head's values at the tile's rows and columns, in two buffers: head hk's in buffer hk % 2
    __shared__ double lrb[2][SSD_T], lsb[2][SSD_T];
    __shared__ float wsb[2][SSD_T], erb[2][SSD_T], esb[2][SSD_T];
    __shared__ double red[2][SSD_THREADS / 32][SSD_T];
    int nc = ssd_chunks(len, Q);
    int g = blockIdx.x % groups, bc = blockIdx.x / groups, c = bc % nc, b = bc / nc;
    int tt, st;
    ssd_pair(blockIdx.y, tt, st);
    int t0c = c * Q, lc = min(Q, len - t0c), r0 = tt * SSD_T, s0 = st * SSD_T;
    if (r0 >= lc) return;
    int hpg = heads / groups, di = heads * P, T = ssd_tiles(Q), S = ssd_slots(Q, N, P);
    i64 row0 = (i64)b * len + t0c;
    int tid = threadIdx.x, tx = tid & 15, lane = tid & 31, warp = tid >> 5;
    const float* gb = G + ((i64)bc * groups + g) * Q * Q;
    float gv[4][4], dgs[4][4];
    ssd_each<MODE>([&](int i, int j, int ml, int nl) {
        int t = r0 + ml, s = s0 + nl;
        gv[i][j] = t < lc && s <= t ? gb[t * Q + s] : 0.f;
        dgs[i][j] = 0.f;
    });
    // a head's l at the tile's rows and columns and at r0, and w at its columns (threads tid < SSD_T):
    // read at the start of the previous head's step, so that their latency hides behind its work, and
    // stored at its end into the head's buffer, which the barriers of the head's own slices then
    // order before its step reads them (no barrier of their own). The other buffer is the one read
    // by the previous step, which every thread finished before those barriers too.
    double nlt = 0, nls = 0, nl0 = 0;
    float nw = 0.f;
    auto ahead = [&](int h) {
        if (tid < SSD_T) {
            int t = r0 + tid, s = s0 + tid;
            nlt = t < lc ? l[(row0 + t) * heads + h] : 0.0;
            nls = s < lc ? l[(row0 + s) * heads + h] : 0.0;
            nl0 = l[(row0 + r0) * heads + h];
            nw = s < lc ? w[(row0 + s) * heads + h] : 0.f;
        }
    };
    auto store = [&](int buf) {
        if (tid < SSD_T) {
            lrb[buf][tid] = nlt;
            lsb[buf][tid] = nls;
            wsb[buf][tid] = nw;
            // below the diagonal (s < r0 <= t) exp(l_t - l_s) = exp(l_t - l_r0) exp(l_r0 - l_s), both at most 1
            erb[buf][tid] = expf((float)(nlt - nl0));
            esb[buf][tid] = expf((float)(nl0 - nls));
        }
    };
    ahead(g * hpg);
    store(0);
    // head hk's dM (this thread's elements): its parts of dG, and its slots
    auto head = [&](int hk, float (&dm)[4][4]) {
        int h = g * hpg + hk;
        const double *lr = lrb[hk & 1], *ls = lsb[hk & 1];
        const float *ws = wsb[hk & 1], *er = erb[hk & 1], *es = esb[hk & 1];
        if (hk + 1 < hpg) ahead(h + 1);
        // the row and column sums of dM M cancel in dl's reverse cumulative sum (their totals are equal),
        // so both add the same float products in double, as the CPU does: float partial sums of
        // differently grouped terms left dA and d dt_bias 1e-5 off the CPU
        double rowM[NR], colM[NCOL];
        float colW[NCOL];
#pragma unroll
        for (int k = 0; k < NR; k++) rowM[k] = 0;
#pragma unroll
        for (int k = 0; k < NCOL; k++) colM[k] = 0, colW[k] = 0.f;
        ssd_each<MODE>([&](int i, int j, int ml, int nl) {
            int t = r0 + ml, s = s0 + nl, ri = TC ? j >> 1 : i, ci = TC ? 2 * i + (j & 1) : j;
            if (t < lc && s <= t) {
                float e = st < tt ? er[ml] * es[nl] : ssd_decay<MODE>(lr[ml] - ls[nl]), ew = e * ws[nl], d = dm[i][j];
                float dmm = d * gv[i][j] * ew;
                dgs[i][j] += d * ew;
                rowM[ri] += dmm;
                colM[ci] += dmm;
                colW[ci] += d * gv[i][j] * e;
            }
        });
        if constexpr (TC) {
            // rows g and g + 8 over the warp's 32 columns, then the two warps of a row band add through red
            int gl = lane >> 2, hi = (lane >> 1) & 1;
            double r = ssd_frag_row_sum(rowM[0], rowM[1]);
            if ((lane & 1) == 0) red[0][4 + (warp >> 2)][(warp & 3) * 16 + gl + 8 * hi] = r;
            // 8 columns over the lanes g (bits 2, 3, 4): halving exchanges leave lane 4 g + t the sum of
            // its warp's 16 rows at column index g (= 2 i + j % 2 of ssd_at); then the four row bands
            // add through red
            double cm[8], cw[8];
#pragma unroll
            for (int k = 0; k < 8; k++) cm[k] = colM[k], cw[k] = colW[k];
#pragma unroll
            for (int half = 4, bit = 16; half >= 1; half >>= 1, bit >>= 1) {
                bool up = (lane & bit) != 0;
#pragma unroll
                for (int k = 0; k < half; k++) {
                    double sm0 = up ? cm[k] : cm[k + half], sw0 = up ? cw[k] : cw[k + half];
                    double km = up ? cm[k + half] : cm[k], kw = up ? cw[k + half] : cw[k];
                    cm[k] = km + __shfl_xor_sync(FULL_MASK, sm0, bit);
                    cw[k] = kw + __shfl_xor_sync(FULL_MASK, sw0, bit);
                }
            }
            int col = (warp >> 2) * 32 + (gl >> 1) * 8 + 2 * (lane & 3) + (gl & 1);
            red[0][warp & 3][col] = cm[0];
            red[1][warp & 3][col] = cw[0];
            __syncthreads();
            if (tid < SSD_T && r0 + tid < lc) parts[((row0 + r0 + tid) * heads + h) * S + st] = red[0][4][tid] + red[0][5][tid];
            if (tid >= SSD_T && tid < 2 * SSD_T && s0 + tid - SSD_T < lc) {
                int nl = tid - SSD_T;
                double* pr = parts + ((row0 + s0 + nl) * heads + h) * S;
                pr[T + tt] = red[0][0][nl] + red[0][1][nl] + red[0][2][nl] + red[0][3][nl];
                pr[2 * T + tt] = red[1][0][nl] + red[1][1][nl] + red[1][2][nl] + red[1][3][nl];
            }
        } else {
            int ty = tid >> 4;
            for (int i = 0; i < 4; i++) {
                double r = ssd_row_sum(rowM[i]);
                int t = r0 + ty * 4 + i;
                if (tx == 0 && t < lc) parts[((row0 + t) * heads + h) * S + st] = r;
            }
            for (int j = 0; j < 4; j++) {
                double cm = colM[j] + __shfl_xor_sync(FULL_MASK, colM[j], 16);
                double cw = (double)colW[j] + __shfl_xor_sync(FULL_MASK, (double)colW[j], 16);
                if (lane < 16) {
                    red[0][warp][tx * 4 + j] = cm;
                    red[1][warp][tx * 4 + j] = cw;
                }
            }
            __syncthreads();
            if (tid < SSD_T && s0 + tid < lc) {
                double cm = 0, cw = 0;
                for (int k = 0; k < SSD_THREADS / 32; k++) {
                    cm += red[0][k][tid];
                    cw += red[1][k][tid];
                }
                double* pr = parts + ((row0 + s0 + tid) * heads + h) * S;
                pr[T + tt] = cm;
                pr[2 * T + tt] = cw;
            }
        }
        if (hk + 1 < hpg) store((hk + 1) & 1);
    };
    // dM = dy x^T by head: the group's heads are adjacent columns of dy and x, so when a head's P
    // channels are whole slices the heads are one product over k = (head, channel) whose segments
    // are the heads, its loads running on across them; else one product per head
    const float* dyg = dy + row0 * di + g * hpg * P;
    const float* xg = x + row0 * di + g * hpg * P;
    float dm[4][4];
    if (P % SSD_TK == 0) {
        ssd_mm_run<MODE, true, true, false, true>(dm, sm, 0, hpg * P, P, SsdOp{dyg + (i64)r0 * di, di, lc - r0},
                                                  SsdOp{xg + (i64)s0 * di, di, lc - s0}, SsdAsIs(), SsdAsIs(), head);
    } else {
        for (int hk = 0; hk < hpg; hk++) {
            ssd_mm<MODE, true, true, false, true>(dm, sm, 0, P, SsdOp{dyg + (i64)r0 * di + hk * P, di, lc - r0},
                                                  SsdOp{xg + (i64)s0 * di + hk * P, di, lc - s0});
            head(hk, dm);
        }
    }
    float* out = dG + ((i64)bc * groups + g) * Q * Q;
    ssd_each<MODE>([&](int i, int j, int ml, int nl) {
        int t = r0 + ml, s = s0 + nl;
        if (t < lc && s < lc) out[t * Q + s] = dgs[i][j];
    });
}
SSD_ENTRIES(ssd_bwd_dcb, SSD_MINB_DCB, (float* dG, double* parts, const float* dy, const float* x, const float* G, const float* w, const double* l, int len, int heads, int P, int groups, int N, int Q),
            (dG, parts, dy, x, G, w, l, len, heads, P, groups, N, Q))

// Block per (sequence, chunk, group) and tile of (t, j): dC (+=) = dG B + sum over the group's heads of
// exp(l_t) dy_t^T H0, and by head the slot exp(l_t) dy_t . (H0 C_t) of dl (that head's part, dotted
// with C_t before it joins the sum).
template <int MODE>
__device__ __forceinline__ void ssd_bwd_dc_body(float* dC, double* parts, const float* dy, const float* B, const float* C,
                                      const float* dG, const float* states, const double* l, int len, int heads, int P,
                                      int groups, int N, int Q) {
    SSD_STAGE_DECL
    __shared__ float erow[SSD_T];
    int nc = ssd_chunks(len, Q);
    int g = blockIdx.x % groups, bc = blockIdx.x / groups, c = bc % nc, b = bc / nc;
    // the last t tiles first (the first product runs over s up to the tile's end), as ssd_chunk_output
    int jTiles = ssd_tiles(N), r0 = (ssd_tiles(Q) - 1 - blockIdx.y / jTiles) * SSD_T, jt = blockIdx.y % jTiles, j0 = jt * SSD_T;
    int t0c = c * Q, lc = min(Q, len - t0c);
    if (r0 >= lc) return;
    int r1 = min(lc, r0 + SSD_T), hpg = heads / groups, di = heads * P, gn = groups * N;
    int T = ssd_tiles(Q), S = ssd_slots(Q, N, P);
    i64 row0 = (i64)b * len + t0c;
    int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const float* dgb = dG + ((i64)bc * groups + g) * Q * Q;
    const float* bb = B + row0 * gn + g * N;
    const float* cb = C + row0 * gn + g * N;
    // acc, cv and every head's product in the fragment layout (on tensor cores; ssd_at), so that no
    // head's product goes through shared memory
    float acc[4][4], cv[4][4];
    ssd_mm<MODE, true, false, false, true>(acc, sm, 0, r1, SsdOp{dgb + (i64)r0 * Q, Q, r1 - r0}, SsdOp{bb + j0, gn, N - j0},
                                           [&](int m, int s, float v) { return s <= r0 + m ? v : 0.f; });
    ssd_each<MODE>([&](int i, int j, int ml, int nl) {
        int t = r0 + ml, jj = j0 + nl;
        cv[i][j] = t < r1 && jj < N ? cb[(i64)t * gn + jj] : 0.f;
    });
    // exp(l_t) of a head, read one head ahead (threads tid < SSD_T)
    double nl = 0;
    auto ahead = [&](int h) {
        if (tid < SSD_T && r0 + tid < r1) nl = l[(row0 + r0 + tid) * heads + h];
    };
    ahead(g * hpg);
    // head hk's dy_t^T H0 (this thread's elements), scaled by exp(l_t): into acc and its slots of dl,
    // one per half of the state tile
    auto head = [&](int hk, float (&ah)[4][4]) {
        int h = g * hpg + hk;
        // (no barrier first: the barriers of this head's slices come after the previous head's reads of erow)
        if (tid < SSD_T) erow[tid] = r0 + tid < r1 ? expf((float)nl) : 0.f;
        __syncthreads();
        if (hk + 1 < hpg) ahead(h + 1);
        double* pr0 = parts + (row0 * heads + h) * S + 3 * T + 2 * jt;
        if constexpr (MODE != SSD_FP32) {
            // rows g and g + 8 of the warp's band, 8 states each, the warp's half (warp / 4) of the tile
            float r[2] = {0.f, 0.f};
            ssd_each<MODE>([&](int i, int j, int ml, int nl2) {
                float a = erow[ml] * ah[i][j];
                r[j >> 1] += a * cv[i][j];
                acc[i][j] += a;
            });
            double rs = ssd_frag_row_sum(r[0], r[1]);
            int t = r0 + (warp & 3) * 16 + (lane >> 2) + 8 * ((lane >> 1) & 1);
            if ((lane & 1) == 0 && t < r1) pr0[(i64)t * heads * S + (warp >> 2)] = rs;
        } else {
            int tx = tid & 15, ty = tid >> 4;
            for (int i = 0; i < 4; i++) {
                float r = 0.f, e = erow[ty * 4 + i];
                for (int j = 0; j < 4; j++) {
                    float a = e * ah[i][j];
                    r += a * cv[i][j];
                    acc[i][j] += a;
                }
                // the 8 threads tx of a half (32 states) of the tile's row
                double rs = ssd_row_sum<8>((double)r);
                int t = r0 + ty * 4 + i;
                if ((tx & 7) == 0 && t < r1) pr0[(i64)t * heads * S + (tx >> 3)] = rs;
            }
        }
    };
    // as ssd_bwd_dcb: the group's heads are adjacent columns of dy and adjacent states, one product
    // segmented by head when a head's channels are whole slices
    const float* h0g = states + ((i64)bc * heads + g * hpg) * P * N;
    const float* dyg = dy + row0 * di + g * hpg * P;
    float ah[4][4];
    if (P % SSD_TK == 0) {
        ssd_mm_run<MODE, true, false, false, true>(ah, sm, 0, hpg * P, P, SsdOp{dyg + (i64)r0 * di, di, r1 - r0},
                                                   SsdOp{h0g + j0, N, N - j0}, SsdAsIs(), SsdAsIs(), head);
    } else {
        for (int hk = 0; hk < hpg; hk++) {
            ssd_mm<MODE, true, false, false, true>(ah, sm, 0, P, SsdOp{dyg + (i64)r0 * di + hk * P, di, r1 - r0},
                                                   SsdOp{h0g + (i64)hk * P * N + j0, N, N - j0});
            head(hk, ah);
        }
    }
    ssd_each<MODE>([&](int i, int j, int ml, int nl2) {
        int t = r0 + ml, jj = j0 + nl2;
        if (t < r1 && jj < N) dC[(row0 + t) * gn + g * N + jj] += acc[i][j];
    });
}
SSD_ENTRIES(ssd_bwd_dc, SSD_MINB_DC, (float* dC, double* parts, const float* dy, const float* B, const float* C, const float* dG, const float* states, const double* l, int len, int heads, int P, int groups, int N, int Q),
            (dC, parts, dy, B, C, dG, states, l, len, heads, P, groups, N, Q))

// Block per (sequence, chunk, group) and tile of (s, j): dB (+=) = dG^T C + sum over the group's heads
// of q_s x_s^T carry. The group's heads are adjacent columns of x and adjacent (channel, state) rows of
// the carries, so the sum over heads is one product over k = (head, channel), q of head k / P taken
// from a table on the way in: no step per head, its loads run on across heads. Both products stay in
// the fragment layout (on tensor cores) to the end. Dynamic shared memory: heads / groups x SSD_T
// floats (q at the tile's rows, head by head).
template <int MODE>
__device__ __forceinline__ void ssd_bwd_db_body(float* dB, const float* x, const float* C, const float* dG, const float* carries,
                                      const float* w, const double* l, int len, int heads, int P, int groups, int N, int Q) {
    extern __shared__ float qtab[];
    SSD_STAGE_DECL
    int nc = ssd_chunks(len, Q);
    int g = blockIdx.x % groups, bc = blockIdx.x / groups, c = bc % nc, b = bc / nc;
    int jTiles = ssd_tiles(N), s0 = blockIdx.y / jTiles * SSD_T, j0 = blockIdx.y % jTiles * SSD_T;
    int t0c = c * Q, lc = min(Q, len - t0c);
    if (s0 >= lc) return;
    int s1 = min(lc, s0 + SSD_T), hpg = heads / groups, di = heads * P, gn = groups * N;
    i64 row0 = (i64)b * len + t0c;
    // q_s = exp(l_last - l_s) w_s of head hk at row m into qtab[hk SSD_T + m]; the first product's
    // barriers order these stores before the second product reads them
    for (int e = threadIdx.x; e < hpg * SSD_T; e += blockDim.x) {
        int hk = e / SSD_T, s = s0 + e % SSD_T, h = g * hpg + hk;
        qtab[e] = s < s1 ? expf((float)(l[(row0 + lc - 1) * heads + h] - l[(row0 + s) * heads + h])) * w[(row0 + s) * heads + h] : 0.f;
    }
    const float* dgb = dG + ((i64)bc * groups + g) * Q * Q;
    const float* cb = C + row0 * gn + g * N;
    float acc[4][4];
    ssd_mm<MODE, false, false, false, true>(acc, sm, s0, lc, SsdOp{dgb + s0, Q, s1 - s0}, SsdOp{cb + j0, gn, N - j0},
                                            [&](int m, int t, float v) { return t >= s0 + m ? v : 0.f; });
    // k / P as the high word of k ceil(2^32 / P), exact while k P < 2^32 (k < heads P); P = 1: k itself
    unsigned magic = P > 1 ? (unsigned)((0x100000000ull + P - 1) / P) : 0u;
    const float* carry = carries + ((i64)bc * heads + g * hpg) * P * N;
    const float* xg = x + row0 * di + g * hpg * P;
    ssd_mm<MODE, true, false, true, true>(acc, sm, 0, hpg * P, SsdOp{xg + (i64)s0 * di, di, s1 - s0}, SsdOp{carry + j0, N, N - j0},
                                          [&](int m, int k, float v) {
                                              unsigned hk = P > 1 ? __umulhi((unsigned)k, magic) : (unsigned)k;
                                              return qtab[hk * SSD_T + m] * v;
                                          });
    // by pairs of adjacent states (j, j + 1) in either layout of ssd_at, 8 bytes where N is even
    bool pairs = (N & 1) == 0 && ((size_t)dB & 7) == 0;
    ssd_each<MODE, 2>([&](int i, int j, int ml, int nl) {
        int s = s0 + ml, jj = j0 + nl;
        if (s >= s1 || jj >= N) return;
        float* o = dB + (row0 + s) * gn + g * N + jj;
        if (pairs) {
            float2 v = *(float2*)o;
            *(float2*)o = make_float2(v.x + acc[i][j], v.y + acc[i][j + 1]);
        } else {
            for (int e = 0; e < 2 && jj + e < N; e++) o[e] += acc[i][j + e];
        }
    });
}
SSD_ENTRIES(ssd_bwd_db, SSD_MINB_DB, (float* dB, const float* x, const float* C, const float* dG, const float* carries, const float* w, const double* l, int len, int heads, int P, int groups, int N, int Q),
            (dB, x, C, dG, carries, w, l, len, heads, P, groups, N, Q))

// Block per (sequence, chunk, head) and tile of (s, p): dx (+=; overwrite: =, unread) = D dy_s + sum_{t >= s} M[t][s] dy_t +
// q_s (carry B_s)[p], and the slots of dq_s = x_s . (carry B_s) and dy_s . x_s. Past the diagonal tile
// (s < s1 <= t) the decay splits at s1 as chunk_output's does at r0. Dynamic shared memory: Q doubles
// (l), then Q floats (w), Q floats (the scales of dy's rows).
template <int MODE>
__device__ __forceinline__ void ssd_bwd_dx_body(float* dx, double* parts, const float* dy, const float* x, const float* B,
                                      const float* D, const float* G, const float* carries, const float* w,
                                      const double* l, int len, int heads, int P, int groups, int N, int Q, int overwrite) {
    extern __shared__ double lcol[];
    SSD_STAGE_DECL
    __shared__ float qrow[SSD_T], frow[SSD_T];
    float* wcol = (float*)(lcol + Q);
    float* kcol = wcol + Q;
    int nc = ssd_chunks(len, Q), unit, part;
    ssd_unit(unit, part);
    int h = unit % heads, bc = unit / heads, c = bc % nc, b = bc / nc;
    int g = h / (heads / groups), di = heads * P, gn = groups * N, pTiles = ssd_tiles(P);
    int s0 = part / pTiles * SSD_T, pt = part % pTiles, p0 = pt * SSD_T;
    int t0c = c * Q, lc = min(Q, len - t0c);
    if (s0 >= lc) return;
    int s1 = min(lc, s0 + SSD_T), T = ssd_tiles(Q), JT = ssd_tiles(N), PT = pTiles, S = ssd_slots(Q, N, P);
    i64 row0 = (i64)b * len + t0c;
    int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    // the modifiers' tables and qrow (ssd_mm's pre: filled while the first slice is on its way)
    auto tables = [&]() {
        double last = l[(row0 + lc - 1) * heads + h], ls1 = s1 < lc ? l[(row0 + s1) * heads + h] : 0.0;
        for (int t = s0 + tid; t < lc; t += blockDim.x) {
            double lt = l[(row0 + t) * heads + h];
            lcol[t] = lt;
            wcol[t] = w[(row0 + t) * heads + h];
            if (t >= s1) kcol[t] = expf((float)(lt - ls1));
        }
        if (tid < SSD_T) {
            int s = s0 + tid;
            double ls = s < s1 ? l[(row0 + s) * heads + h] : 0.0;
            float ws = s < s1 ? w[(row0 + s) * heads + h] : 0.f;
            qrow[tid] = s < s1 ? expf((float)(last - ls)) * ws : 0.f;
            frow[tid] = s < s1 && s1 < lc ? expf((float)(ls1 - ls)) * ws : 0.f;
        }
        __syncthreads();
    };
    if (!SSD_EARLY) tables();
    const float* gb = G + ((i64)bc * groups + g) * Q * Q;
    const float* dyb = dy + row0 * di + h * P;
    float acc[4][4], ac2[4][4];
    // one product over t in [s0, lc), each slice wholly in the diagonal tile or past it; both products
    // stay in the fragment layout (no trip through shared memory) to the end
    ssd_mm<MODE, false, false, false, true>(
            acc, sm, s0, lc, SsdOp{gb + s0, Q, s1 - s0}, SsdOp{dyb + p0, di, P - p0},
            [&](int m, int t, float v) {
                int s = s0 + m;
                return t >= s1 ? frow[m] * v : t >= s ? v * ssd_decay<MODE>(lcol[t] - lcol[s]) * wcol[s] : 0.f;
            },
            [&](int, int t, float v) { return t >= s1 ? kcol[t] * v : v; },
            [&]() {
                if (SSD_EARLY) tables();
            });
    const float* carry = carries + ((i64)bc * heads + h) * P * N;
    const float* bb = B + row0 * gn + g * N;
    ssd_mm<MODE, true, true, false, true>(ac2, sm, 0, N, SsdOp{bb + (i64)s0 * gn, gn, s1 - s0},
                                          SsdOp{carry + (i64)p0 * N, N, P - p0});
    // this thread's elements by pairs of adjacent channels (i, j), (i, j + 1) (in either layout of
    // ssd_at), read and written as 8 bytes where the rows allow; rows: 4 a thread in the tile
    // layout (i), 2 in the fragment layout (j / 2)
    constexpr bool TC = MODE != SSD_FP32;
    constexpr int NR = TC ? 2 : 4;
    bool pairs = (P & 1) == 0 && (((size_t)dx | (size_t)dy | (size_t)x) & 7) == 0;
    float dSkip = D[h], dq[NR], dd[NR];
#pragma unroll
    for (int k = 0; k < NR; k++) dq[k] = dd[k] = 0.f;
    ssd_each<MODE, 2>([&](int i, int j, int ml, int nl) {
        int s = s0 + ml, p = p0 + nl, ri = TC ? j >> 1 : i;
        if (s >= s1 || p >= P) return;
        i64 at = (row0 + s) * di + h * P + p;
        float qs = qrow[ml];
        if (pairs && p + 1 < P) {
            float2 xv = *(const float2*)(x + at), dyv = *(const float2*)(dy + at),
                   dxv = overwrite ? make_float2(0.f, 0.f) : *(float2*)(dx + at);
            dxv.x += dSkip * dyv.x + acc[i][j] + qs * ac2[i][j];
            dxv.y += dSkip * dyv.y + acc[i][j + 1] + qs * ac2[i][j + 1];
            *(float2*)(dx + at) = dxv;
            dq[ri] += xv.x * ac2[i][j] + xv.y * ac2[i][j + 1];
            dd[ri] += dyv.x * xv.x + dyv.y * xv.y;
        } else {
            for (int e = 0; e < 2 && p + e < P; e++) {
                float xv = x[at + e], dyv = dy[at + e];
                dx[at + e] = (overwrite ? 0.f : dx[at + e]) + (dSkip * dyv + acc[i][j + e] + qs * ac2[i][j + e]);
                dq[ri] += xv * ac2[i][j + e];
                dd[ri] += dyv * xv;
            }
        }
    });
    double* pr0 = parts + (row0 * heads + h) * S + 3 * T + 2 * JT;
    if constexpr (TC) {
        // rows g and g + 8 of the warp's 32 channels, then the two warps of a row band add through the
        // staging area (free since the last product's final barrier)
        double* red = (double*)sm;
        int lane = tid & 31, warp = tid >> 5, gl = lane >> 2, hi = (lane >> 1) & 1;
        double q = ssd_frag_row_sum(dq[0], dq[1]), e = ssd_frag_row_sum(dd[0], dd[1]);
        if ((lane & 1) == 0) {
            int ml = (warp & 3) * 16 + gl + 8 * hi;
            red[(warp >> 2) * SSD_T + ml] = q;
            red[(2 + (warp >> 2)) * SSD_T + ml] = e;
        }
        __syncthreads();
        if (tid < SSD_T && s0 + tid < s1) {
            double* pr = pr0 + (i64)(s0 + tid) * heads * S;
            pr[pt] = red[tid] + red[SSD_T + tid];
            pr[PT + pt] = red[2 * SSD_T + tid] + red[3 * SSD_T + tid];
        }
    } else {
        for (int i = 0; i < 4; i++) {
            int s = s0 + ty * 4 + i;
            double dqs = ssd_row_sum((double)dq[i]), dds = ssd_row_sum((double)dd[i]);
            if (tx == 0 && s < s1) {
                double* pr = pr0 + (i64)s * heads * S;
                pr[pt] = dqs;
                pr[PT + pt] = dds;
            }
        }
    }
}
SSD_ENTRIES(ssd_bwd_dx, SSD_MINB_DX, (float* dx, double* parts, const float* dy, const float* x, const float* B, const float* D, const float* G, const float* carries, const float* w, const double* l, int len, int heads, int P, int groups, int N, int Q, int overwrite),
            (dx, parts, dy, x, B, D, G, carries, w, l, len, heads, P, groups, N, Q, overwrite))

// Block per (sequence, chunk, head): each step's dl and dw from its slots, <carry, H0> from ssd_carry_pass's, then the reverse
// cumulative sum of dl over the chunk (a suffix sum across the block's threads): d dt (+=) and this
// chunk's parts of dA, dD, d dt_bias into part* (batch nc, heads). Dynamic shared memory: 2 Q doubles.
extern "C" __global__ void ssd_bwd_finish(float* dDt, float* partA, float* partD, float* partBias, const double* parts,
                                          const double* held, const float* w, const float* gw, const double* l, const float* A,
                                          int len, int heads, int P, int N, int Q) {
    extern __shared__ double dls[];
    double* dws = dls + Q;
    int nc = ssd_chunks(len, Q);
    int h = blockIdx.x % heads, bc = blockIdx.x / heads, c = bc % nc, b = bc / nc;
    int t0 = c * Q, lc = min(Q, len - t0);
    int T = ssd_tiles(Q), JT = ssd_tiles(N), PT = ssd_tiles(P), S = ssd_slots(Q, N, P), lastTile = (lc - 1) / SSD_T;
    i64 row0 = (i64)b * len + t0;
    int W = ssd_held_slots(P * N);
    double last = l[(row0 + lc - 1) * heads + h];
    double hsum = 0, dD = 0, dqSum = 0;
    for (int k = threadIdx.x; k < W; k += blockDim.x) hsum += held[((i64)bc * heads + h) * W + k];
    for (int t = threadIdx.x; t < lc; t += blockDim.x) {
        i64 at = (row0 + t) * heads + h;
        const double* pr = parts + at * S;
        int tt = t / SSD_T;
        double dl = 0, dw = 0, dq = 0;
        for (int k = 0; k <= tt; k++) dl += pr[k];
        for (int k = tt; k <= lastTile; k++) {
            dl -= pr[T + k];
            dw += pr[2 * T + k];
        }
        for (int k = 0; k < 2 * JT; k++) dl += pr[3 * T + k];
        for (int k = 0; k < PT; k++) {
            dq += pr[3 * T + 2 * JT + k];
            dD += pr[3 * T + 2 * JT + PT + k];
        }
        float decay = expf((float)(last - l[at])), qs = decay * w[at];
        dw += dq * decay;
        dl -= dq * qs;
        dqSum += dq * qs;
        dls[t] = dl;
        dws[t] = dw;
    }
    hsum = block_sum<double>(hsum);
    dD = block_sum<double>(dD);
    dqSum = block_sum<double>(dqSum);  // its barriers also order dls and dws before the reads below
    // d(w A)_t = da_t = extra + sum_{k >= t} dl_k, a suffix sum: each thread takes a run of steps, the
    // runs' sums are scanned across the block (fixed order: the same bits every run), then each thread
    // walks its run backwards
    double extra = exp(last) * hsum + dqSum, a = A[h];
    int run = (lc + blockDim.x - 1) / blockDim.x, ta = min(lc, (int)threadIdx.x * run), tb = min(lc, ta + run);
    double part = 0;
    for (int t = ta; t < tb; t++) part += dls[t];
    double after = extra + ssd_block_suffix<double>(part);
    double dA = 0, dBias = 0;
    for (int t = tb - 1; t >= ta; t--) {
        i64 at = (row0 + t) * heads + h;
        after += dls[t];
        dA += after * w[at];
        double dPre = (dws[t] + after * a) * gw[at];
        dDt[at] += (float)dPre;
        dBias += dPre;
    }
    dA = block_sum<double>(dA);
    dBias = block_sum<double>(dBias);
    if (threadIdx.x != 0) return;
    partA[blockIdx.x] = (float)dA;
    partD[blockIdx.x] = (float)dD;
    partBias[blockIdx.x] = (float)dBias;
}

// ---- gated RMSNorm (CpuGatedRmsNorm): g = x silu(z), out = w g / sqrt(mean_group(g^2) + eps).
// Block of SSD_NORM_THREADS per (row, group) of gs features. A group whose rows go by float4 (gs and
// width multiples of 4, 16-byte aligned tensors) and fit SSD_NORM_QUADS float4 a thread (up to 2,048
// features) is read once and held in registers from the sum of squares to the write: the 130m-mamba2
// group of 1,536 is 12 values a thread. Any other runs element by element, reading its inputs twice.
#define SSD_NORM_QUADS 4

__device__ __forceinline__ bool ssd_norm_by_quads(int width, int gs, unsigned long long addresses) {
    return (gs & 3) == 0 && (width & 3) == 0 && gs <= 4 * SSD_NORM_THREADS * SSD_NORM_QUADS && (addresses & 15) == 0;
}

// out16 (if not null): out rounded to bf16 as well, the operand of the bf16 out_proj (--precision bf16)
__device__ __forceinline__ void ssd_store_bf16x4(unsigned short* p, i64 i, float4 v) {
    unsigned lo, hi;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(lo) : "f"(v.y), "f"(v.x));  // the first source goes high
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(hi) : "f"(v.w), "f"(v.z));
    *(uint2*)(p + i) = make_uint2(lo, hi);
}

__device__ __forceinline__ void ssd_store_bf16(unsigned short* p, i64 i, float v) {
    unsigned short h;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(v));
    p[i] = h;
}

extern "C" __global__ void __launch_bounds__(SSD_NORM_THREADS) gated_rms_norm(float* out, unsigned short* out16, const float* x,
                                                                               const float* z, const float* w, int width, int gs,
                                                                               float eps) {
    i64 base = (i64)blockIdx.x * width + (i64)blockIdx.y * gs;
    const float* wg = w + (i64)blockIdx.y * gs;
    unsigned long long at = (unsigned long long)out | (unsigned long long)x | (unsigned long long)z | (unsigned long long)w |
                            ((unsigned long long)out16 & 7) << 1;
    if (ssd_norm_by_quads(width, gs, at)) {
        int nq = gs >> 2;
        float4 g[SSD_NORM_QUADS];
        double ss = 0;
#pragma unroll
        for (int k = 0; k < SSD_NORM_QUADS; k++) {
            int q = threadIdx.x + k * SSD_NORM_THREADS;
            if (q < nq) {
                float4 xv = ((const float4*)(x + base))[q], zv = ((const float4*)(z + base))[q];
                g[k] = make_float4(xv.x * siluf(zv.x), xv.y * siluf(zv.y), xv.z * siluf(zv.z), xv.w * siluf(zv.w));
                ss += (double)g[k].x * g[k].x + (double)g[k].y * g[k].y + (double)g[k].z * g[k].z + (double)g[k].w * g[k].w;
            }
        }
        ss = block_sum<double>(ss);
        float inv = (float)(1.0 / sqrt(ss / gs + eps));
#pragma unroll
        for (int k = 0; k < SSD_NORM_QUADS; k++) {
            int q = threadIdx.x + k * SSD_NORM_THREADS;
            if (q < nq) {
                float4 wv = ((const float4*)wg)[q];
                float4 o = make_float4(wv.x * (g[k].x * inv), wv.y * (g[k].y * inv), wv.z * (g[k].z * inv), wv.w * (g[k].w * inv));
                ((float4*)(out + base))[q] = o;
                if (out16) ssd_store_bf16x4(out16, base + 4 * q, o);
            }
        }
        return;
    }
    double ss = 0;
    for (int i = threadIdx.x; i < gs; i += blockDim.x) {
        float g = x[base + i] * siluf(z[base + i]);
        ss += (double)g * g;
    }
    ss = block_sum<double>(ss);
    float inv = (float)(1.0 / sqrt(ss / gs + eps));
    for (int i = threadIdx.x; i < gs; i += blockDim.x) {
        float o = wg[i] * (x[base + i] * siluf(z[base + i]) * inv);
        out[base + i] = o;
        if (out16) ssd_store_bf16(out16, base + i, o);
    }
}

// One element's share of the backward: gn = g / rms (=), dx and dz (+=). The row's sums (of g^2 and
// dOut w g) are taken in double; the per-element terms in float: in double they were ~15 conversions
// and 12 double operations an element, which held the kernel near 250 us at 130m-mamba2 8 x 2048
// (ssd-host-check holds the result to its float64 finite differences as before).
__device__ __forceinline__ void ssd_norm_grad(float xv, float zv, float wv, float gy, float inv, float coef, float& gn,
                                              float& dx, float& dz) {
    float s = sigmoidf(zv), g = xv * zv * s;
    gn = g * inv;
    float dGate = inv * wv * gy - coef * g;
    dx += dGate * zv * s;
    dz += dGate * xv * s * (1.f + zv * (1.f - s));
}

// Rows a block of the norm's backward walks, one group of each: the weight gradient's sums over them
// stay in registers and leave as one row of partial sums, so the normalized gate never goes to memory
// (at 130m-mamba2 8 x 2048: 2,048 rows of 1,536 partials, 13 MB, where the gate was 100 MB written
// and read back with dOut by a column sum).
#define SSD_NORM_ROWS 8
SSMTK_EXPORT(SSD_NORM_ROWS)

// One row's group of x, z and dOut by float4, a thread's QUADS quads (those past nq left as they are)
template <int QUADS>
__device__ __forceinline__ void ssd_norm_load_row(float4* xq, float4* zq, float4* yq, const float* x, const float* z,
                                                  const float* dOut, i64 base, int nq) {
#pragma unroll
    for (int k = 0; k < QUADS; k++) {
        int q = threadIdx.x + k * SSD_NORM_THREADS;
        if (q < nq) {
            xq[k] = ((const float4*)(x + base))[q];
            zq[k] = ((const float4*)(z + base))[q];
            yq[k] = ((const float4*)(dOut + base))[q];
        }
    }
}

// The backward's rows r0..r1 of one group held in registers by float4, QUADS a thread (up to
// 4 SSD_NORM_THREADS QUADS features). The next row's x, z, dOut are loaded before this row's sums
// meet at the barrier (two rows in flight a block); QUADS is the fewest the group needs, because
// registers bound how many blocks an SM holds (130m-mamba2's 1,536: 3, 164 -> 125 registers).
template <int QUADS>
__device__ __forceinline__ void ssd_norm_backward_rows(float* dx, float* dz, float* pw, const float* dOut, const float* x,
                                                       const float* z, const float* wg, int r0, int r1, i64 col0,
                                                       int width, int gs, float eps, bool addX, bool addZ) {
    int nq = gs >> 2;
    float4 wq[QUADS], dw[QUADS];
#pragma unroll
    for (int k = 0; k < QUADS; k++) {
        int q = threadIdx.x + k * SSD_NORM_THREADS;
        wq[k] = q < nq ? ((const float4*)wg)[q] : make_float4(0.f, 0.f, 0.f, 0.f);
        dw[k] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
    float4 xq[QUADS], zq[QUADS], yq[QUADS], xn[QUADS], zn[QUADS], yn[QUADS];
    ssd_norm_load_row<QUADS>(xq, zq, yq, x, z, dOut, (i64)r0 * width + col0, nq);
    for (int r = r0; r < r1; r++) {
        i64 base = (i64)r * width + col0;
        double ss = 0, dot = 0;
#pragma unroll
        for (int k = 0; k < QUADS; k++) {
            int q = threadIdx.x + k * SSD_NORM_THREADS;
            if (q < nq) {
                float xs[4] = {xq[k].x, xq[k].y, xq[k].z, xq[k].w}, zs[4] = {zq[k].x, zq[k].y, zq[k].z, zq[k].w},
                      ys[4] = {yq[k].x, yq[k].y, yq[k].z, yq[k].w}, ws[4] = {wq[k].x, wq[k].y, wq[k].z, wq[k].w};
                float ss4 = 0.f, dot4 = 0.f;  // a quad's sums in float, the row's in double
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    float g = xs[e] * zs[e] * sigmoidf(zs[e]);
                    ss4 += g * g;
                    dot4 += ys[e] * ws[e] * g;
                }
                ss += ss4;
                dot += dot4;
            }
        }
        if (r + 1 < r1) ssd_norm_load_row<QUADS>(xn, zn, yn, x, z, dOut, base + width, nq);
        block_sum2<double>(ss, dot);
        double invD = 1.0 / sqrt(ss / gs + eps);
        float inv = (float)invD, coef = (float)(invD * invD * invD * dot / gs);
#pragma unroll
        for (int k = 0; k < QUADS; k++) {
            int q = threadIdx.x + k * SSD_NORM_THREADS;
            if (q < nq) {
                float4 zero = make_float4(0.f, 0.f, 0.f, 0.f), gv;
                float4 dxv = addX ? ((float4*)(dx + base))[q] : zero, dzv = addZ ? ((float4*)(dz + base))[q] : zero;
                ssd_norm_grad(xq[k].x, zq[k].x, wq[k].x, yq[k].x, inv, coef, gv.x, dxv.x, dzv.x);
                ssd_norm_grad(xq[k].y, zq[k].y, wq[k].y, yq[k].y, inv, coef, gv.y, dxv.y, dzv.y);
                ssd_norm_grad(xq[k].z, zq[k].z, wq[k].z, yq[k].z, inv, coef, gv.z, dxv.z, dzv.z);
                ssd_norm_grad(xq[k].w, zq[k].w, wq[k].w, yq[k].w, inv, coef, gv.w, dxv.w, dzv.w);
                dw[k].x += yq[k].x * gv.x;
                dw[k].y += yq[k].y * gv.y;
                dw[k].z += yq[k].z * gv.z;
                dw[k].w += yq[k].w * gv.w;
                ((float4*)(dx + base))[q] = dxv;
                ((float4*)(dz + base))[q] = dzv;
            }
        }
#pragma unroll
        for (int k = 0; k < QUADS; k++) {
            xq[k] = xn[k];
            zq[k] = zn[k];
            yq[k] = yn[k];
        }
    }
#pragma unroll
    for (int k = 0; k < QUADS; k++) {
        int q = threadIdx.x + k * SSD_NORM_THREADS;
        if (q < nq) ((float4*)pw)[q] = dw[k];
    }
}

// Block per (slab of SSD_NORM_ROWS rows, group). dx, dz (+=; overwrite bit 1: dx =, bit 2: dz =,
// neither read then: a buffer a deferred zero fill left to its first writer); dwPart (=), row slab:
// the sum over the slab's rows of dOut * g / rms per feature, whose column sums are the weight's
// gradient. Two entries (SsdKernels picks by gs): gated_rms_norm_backward_q3 holds up to 3 quads a
// thread (groups up to 1,536 by float4), gated_rms_norm_backward up to SSD_NORM_QUADS; a kernel's
// registers are those of its largest path.
template <int QUADS>
__device__ __forceinline__ void ssd_norm_backward_body(float* dx, float* dz, float* dwPart, const float* dOut, const float* x,
                                                       const float* z, const float* w, int rows, int width, int gs, float eps,
                                                       int overwrite) {
    int r0 = blockIdx.x * SSD_NORM_ROWS, r1 = min(rows, r0 + SSD_NORM_ROWS);
    i64 col0 = (i64)blockIdx.y * gs;
    const float* wg = w + col0;
    float* pw = dwPart + (i64)blockIdx.x * width + col0;
    bool addX = (overwrite & 1) == 0, addZ = (overwrite & 2) == 0;
    unsigned long long at = (unsigned long long)dx | (unsigned long long)dz | (unsigned long long)dwPart | (unsigned long long)dOut |
                            (unsigned long long)x | (unsigned long long)z | (unsigned long long)w;
    if (ssd_norm_by_quads(width, gs, at) && gs <= 4 * SSD_NORM_THREADS * QUADS) {
        ssd_norm_backward_rows<QUADS>(dx, dz, pw, dOut, x, z, wg, r0, r1, col0, width, gs, eps, addX, addZ);
        return;
    }
    // element by element: a thread keeps its features' partial sums in its slab's row of dwPart (no
    // other thread touches them)
    for (int r = r0; r < r1; r++) {
        i64 base = (i64)r * width + col0;
        double ss = 0, dot = 0;
        for (int i = threadIdx.x; i < gs; i += blockDim.x) {
            float zv = z[base + i], s = sigmoidf(zv), g = x[base + i] * zv * s;
            ss += (double)g * g;
            dot += (double)dOut[base + i] * wg[i] * g;
        }
        block_sum2<double>(ss, dot);
        double invD = 1.0 / sqrt(ss / gs + eps);
        float inv = (float)invD, coef = (float)(invD * invD * invD * dot / gs);
        for (int i = threadIdx.x; i < gs; i += blockDim.x) {
            float gv, dxv = addX ? dx[base + i] : 0.f, dzv = addZ ? dz[base + i] : 0.f, gy = dOut[base + i];
            ssd_norm_grad(x[base + i], z[base + i], wg[i], gy, inv, coef, gv, dxv, dzv);
            dx[base + i] = dxv;
            dz[base + i] = dzv;
            pw[i] = (r == r0 ? 0.f : pw[i]) + gy * gv;
        }
    }
}

#define SSD_NORM_BACKWARD_PARAMS                                                                                          \
    (float* dx, float* dz, float* dwPart, const float* dOut, const float* x, const float* z, const float* w, int rows, int width, \
     int gs, float eps, int overwrite)
extern "C" __global__ void __launch_bounds__(SSD_NORM_THREADS) gated_rms_norm_backward SSD_NORM_BACKWARD_PARAMS {
    ssd_norm_backward_body<SSD_NORM_QUADS>(dx, dz, dwPart, dOut, x, z, w, rows, width, gs, eps, overwrite);
}
extern "C" __global__ void __launch_bounds__(SSD_NORM_THREADS) gated_rms_norm_backward_q3 SSD_NORM_BACKWARD_PARAMS {
    ssd_norm_backward_body<3>(dx, dz, dwPart, dOut, x, z, w, rows, width, gs, eps, overwrite);
}
