package org.ssmtk.core.backend.cuda;

/**
 * Where the typed launchers queue their kernels: {@link CudaContext} on a GPU, a recorder in
 * CudaPtxSignatureTest, which drives every launcher without one.
 */
interface Launcher {
    /**
     * Queues a launch of args' kernel with grid (gx, gy), block (bx, by) and sharedBytes of dynamic
     * shared memory. A grid with no blocks launches nothing.
     */
    void launch(long gx, int gy, int bx, int by, int sharedBytes, Args args);

    /** The parsed PTX module of that name, for its launch constants. */
    PtxModule module(String resource);

    /** Streaming multiprocessors of the device: grid-stride kernels launch a multiple of them. */
    int multiprocessors();

    /** Grid-stride kernels: 256 threads a block and enough blocks to fill the device, no more. */
    default void launch1d(long n, Args args) {
        if (n <= 0) return;
        launch(Math.min((n + 255) / 256, (long) multiprocessors() * 16), 1, 256, 1, 0, args);
    }
}
