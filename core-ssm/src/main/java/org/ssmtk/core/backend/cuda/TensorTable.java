package org.ssmtk.core.backend.cuda;

import jcuda.Pointer;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static org.ssmtk.core.backend.cuda.DeviceMemory.addr;
import static org.ssmtk.core.backend.cuda.DeviceMemory.ptr;

/**
 * The device copy of a multi-tensor kernel's table (multi_tensor.cuh's TensorChunks, {@link #LONGS}
 * longs a tensor: four addresses, the length, the first block of its chunks, the weight decay). It
 * is copied to the device again only when its contents change: the optimizer passes the same
 * parameters, gradients and moments every step, so after the first step a launch copies nothing
 * and waits for nothing.
 */
final class TensorTable {
    static final int LONGS = 8;
    private final CudaContext context;
    private final DeviceMemory memory;
    private long[] host = new long[0];
    private Tensor device;
    private long blocks;
    private int count;

    TensorTable(CudaContext context, DeviceMemory memory) {
        this.context = context;
        this.memory = memory;
    }

    /**
     * The table of g's tensors, with p, m and v (null: addresses 0) and weightDecay (null: 0) beside
     * them, cut into chunks of chunk elements, on the device; its address.
     */
    long upload(List<Tensor> p, List<Tensor> g, List<Tensor> m, List<Tensor> v, float[] weightDecay, int chunk) {
        int n = g.size();
        long[] t = new long[n * LONGS];
        long first = 0;
        for (int i = 0; i < n; i++) {
            long size = g.get(i).size();
            t[i * LONGS] = p == null ? 0 : addr(p.get(i));
            t[i * LONGS + 1] = addr(g.get(i));
            t[i * LONGS + 2] = m == null ? 0 : addr(m.get(i));
            t[i * LONGS + 3] = v == null ? 0 : addr(v.get(i));
            t[i * LONGS + 4] = size;
            t[i * LONGS + 5] = first;
            t[i * LONGS + 6] = weightDecay == null ? 0 : Float.floatToRawIntBits(weightDecay[i]) & 0xffffffffL;
            first += (size + chunk - 1) / chunk;
        }
        blocks = first;
        count = n;
        if (!Arrays.equals(t, host) && n > 0) {
            if (device == null || device.size() < 2L * t.length) device = new Tensor(memory.newStorage(2L * t.length), 0, 2 * t.length);
            // a kernel queued earlier may still read the old table
            cuStreamSynchronize(context.stream);
            cuMemcpyHtoD(ptr(device), Pointer.to(t), 8L * t.length);
            host = t;
        }
        return n == 0 ? 0 : addr(device);
    }

    /** Blocks (chunks) of the last uploaded table. */
    long blocks() {
        return blocks;
    }

    /** Tensors of the last uploaded table. */
    int count() {
        return count;
    }
}
