package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.F32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I64;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/** Typed launch of gemm.cu (beside this file): the tiled product that runs where no cuBLAS loads. */
final class GemmKernel {
    static final String MODULE = "gemm.ptx";
    static final Kernel GEMM = Kernel.of(MODULE, "gemm_strided", PTR, PTR, PTR, I32, I32, I32, I64, I64, I64, I64, F32);

    private final Launcher gpu;
    private final int tile;

    GemmKernel(Launcher gpu) {
        this.gpu = gpu;
        tile = gpu.module(MODULE).constant("GEMM_TILE");
    }

    /**
     * c (m, n, row-major) = a b + beta c, where a(i, p) = a[i sai + p sap] and b(p, j) = b[p sbp + j sbj],
     * so that x W^T, dy W and dy^T x are all this product.
     */
    void gemm(long c, long a, long sai, long sap, long b, long sbp, long sbj, int m, int n, int k, float beta) {
        gpu.launch((n + tile - 1) / tile, (m + tile - 1) / tile, tile, tile, 0,
                GEMM.args().ptr(c).ptr(a).ptr(b).i32(m).i32(n).i32(k).i64(sai).i64(sap).i64(sbp).i64(sbj).f32(beta));
    }
}
