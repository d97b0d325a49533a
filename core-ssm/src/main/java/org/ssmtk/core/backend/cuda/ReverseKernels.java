package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/** Typed launches of reverse.cu (beside this file): the sequence flips of the bidirectional and reverse-complement models. */
final class ReverseKernels {
    static final String MODULE = "reverse.ptx";
    static final Kernel REVERSE = Kernel.of(MODULE, "reverse_sequences", PTR, PTR, I32, I32, I32, I32);

    private final Launcher gpu;

    ReverseKernels(Launcher gpu) {
        this.gpu = gpu;
    }

    /** out[b, t, c] = in[b, len - 1 - t, reverseColumns ? n - 1 - c : c] over (batch, len, n); out must not overlap in. */
    void reverse(long out, long in, int batch, int len, int n, int reverseColumns) {
        gpu.launch1d((long) batch * len * n, REVERSE.args().ptr(out).ptr(in).i32(batch).i32(len).i32(n).i32(reverseColumns));
    }
}
