package org.ssmtk.core.backend.cuda;

import jcuda.driver.CUevent;
import org.ssmtk.core.backend.Collective;
import org.ssmtk.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * A {@link Collective} over NCCL for the GPUs of this process, one replica per {@link CudaBackend}.
 * Sums run on a communication stream of their own: each waits (by an event) for the work queued on
 * the compute stream before it, so a layer's gradients can be summed while the backward goes on to
 * the layers below; {@link #join} makes the compute stream wait for the sums before the optimizer.
 */
public final class NcclCollective implements Collective {
    private final Nccl nccl;
    private final MemorySegment comm;
    private final int rank, size;
    private final CudaContext context;
    private final CudaContext.RawStream commStream;
    private final CUevent computeDone, sumsDone;
    private boolean closed;
    /** ncclCommAbort frees the communicator: it must not be destroyed again. */
    private volatile boolean aborted;

    private NcclCollective(Nccl nccl, MemorySegment comm, int rank, int size, CudaBackend backend) {
        this.nccl = nccl;
        this.comm = comm;
        this.rank = rank;
        this.size = size;
        this.context = backend.context();
        commStream = context.newStream();
        computeDone = context.newEvent();
        sumsDone = context.newEvent();
    }

    /**
     * One collective per backend (rank i for backends.get(i)), each on a different device. An
     * IllegalStateException with a one-line reason when NCCL cannot be loaded or initialised.
     */
    public static List<Collective> group(List<CudaBackend> backends) {
        List<String> tried = new ArrayList<>();
        Nccl nccl = Nccl.open(tried);
        if (nccl == null)
            throw new IllegalStateException("data-parallel training needs NCCL, and none loaded: " + Nccl.describeTried(tried));
        int[] devices = backends.stream().mapToInt(CudaBackend::ordinal).toArray();
        if (java.util.Arrays.stream(devices).distinct().count() != devices.length)
            throw new IllegalArgumentException("data-parallel replicas must be on different GPUs, got devices " + java.util.Arrays.toString(devices));
        MemorySegment[] comms = nccl.commInitAll(devices);
        List<Collective> out = new ArrayList<>();
        for (int r = 0; r < devices.length; r++) out.add(new NcclCollective(nccl, comms[r], r, devices.length, backends.get(r)));
        return out;
    }

    /** "NCCL 2.x.y (path)". */
    public String describe() {
        return "NCCL " + nccl.version() + " (" + nccl.path() + ", FFM)";
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void allReduceSum(List<Tensor> tensors) {
        if (tensors.isEmpty()) return;
        context.order(commStream, context.stream, computeDone);
        nccl.groupStart();
        try {
            for (Tensor t : tensors) nccl.allReduceSum(DeviceMemory.addr(t), t.size(), comm, commStream.address());
        } finally {
            nccl.groupEnd();
        }
    }

    @Override
    public void join() {
        context.order(context.stream, commStream, sumsDone);
    }

    @Override
    public synchronized void abort() {
        if (aborted || closed) return;
        aborted = true;
        nccl.abort(comm);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (!aborted && !context.isClosed()) {
            context.current();
            cuStreamSynchronize(commStream);
        }
        if (!aborted) nccl.destroy(comm);
        if (!context.isClosed()) {
            context.current();
            cuEventDestroy(computeDone);
            cuEventDestroy(sumsDone);
            cuStreamDestroy(commStream);
        }
    }
}
