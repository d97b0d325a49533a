package org.ssmtk.core.backend.cuda;

import java.util.List;

/**
 * One kernel as its launcher declares it: the PTX module it lives in, its entry name and its
 * parameters in order. The launchers are the only places that name kernels; CudaPtxSignatureTest
 * checks every declaration against the entries of the committed PTX without a GPU, and {@link Args}
 * checks every launch against the declaration.
 */
record Kernel(String module, String name, List<Param> params) {
    /** A kernel parameter's Java type and the PTX parameter type nvcc gives it. */
    enum Param {
        /** A device address (a pointer parameter): 64 bits. */
        PTR(".u64"),
        /** long long / unsigned long long: 64 bits. */
        I64(".u64"),
        /** int: 32 bits. */
        I32(".u32"),
        /** float: 32 bits. */
        F32(".f32");

        final String ptxType;

        Param(String ptxType) {
            this.ptxType = ptxType;
        }
    }

    static Kernel of(String module, String name, Param... params) {
        return new Kernel(module, name, List.of(params));
    }

    /** Arguments for one launch of this kernel, checked against the declaration as they are added. */
    Args args() {
        return new Args(this);
    }
}
