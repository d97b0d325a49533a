package org.ssmtk.core.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;
import org.ssmtk.core.backend.Backend;

import java.nio.ByteOrder;
import java.util.IdentityHashMap;
import java.util.Map;

import static jcuda.driver.JCudaDriver.*;

/**
 * {@link Backend#record} on the GPU: the body's launches, copies, stream-ordered allocations and
 * frees are captured from the stream into a CUDA graph (cuStreamBeginCapture/EndCapture), which
 * {@link #run} launches whole. The int[] inputs travel through pinned host buffers that the graph's
 * copy nodes read at each launch; {@link #run} refills them from the arrays first.
 */
final class CudaReplay implements Backend.Replay {
    private final CudaContext context;
    private final DeviceMemory memory;
    private final Map<int[], Pointer> pinned = new IdentityHashMap<>();
    private CUgraph graph;
    private CUgraphExec exec;
    private boolean closed;

    private CudaReplay(CudaContext context, DeviceMemory memory, int[][] inputs) {
        this.context = context;
        this.memory = memory;
        for (int[] in : inputs) {
            if (pinned.containsKey(in)) continue;
            Pointer p = new Pointer();
            cuMemAllocHost(p, Math.max(4, in.length * 4L));
            pinned.put(in, p);
        }
    }

    /** The pinned buffer that stands for input array ids during the recording. */
    Pointer pinned(int[] ids) {
        Pointer p = pinned.get(ids);
        if (p == null)
            throw new IllegalStateException("a recorded body read host ids that are not among the recording's inputs");
        return p;
    }

    /**
     * Captures body. The context's lock is held meanwhile, so that no Cleaner frees memory on the
     * stream being captured (they wait); the body's own releases take the same lock again.
     */
    static CudaReplay record(CudaContext context, DeviceMemory memory, Runnable body, int[][] inputs,
                             java.util.function.Consumer<CudaReplay> active) {
        context.synchronize();
        CudaReplay r = new CudaReplay(context, memory, inputs);
        synchronized (context) {
            memory.startRecording();
            active.accept(r);
            CUgraph g = new CUgraph();
            cuStreamBeginCapture(context.stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED);
            Throwable failure = null;
            try {
                body.run();
            } catch (Throwable t) {
                failure = t;
            }
            boolean ended = false;
            try {
                cuStreamEndCapture(context.stream, g);
                ended = true;
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
            } finally {
                active.accept(null);
            }
            int left = memory.stopRecording();
            if (failure == null && left > 0)
                failure = new IllegalStateException("a recorded body left " + left + " buffers it allocated unreleased");
            if (ended) r.graph = g;
            if (failure != null) {
                r.close();
                if (failure instanceof RuntimeException e) throw e;
                if (failure instanceof Error e) throw e;
                throw new IllegalStateException(failure);
            }
        }
        r.exec = new CUgraphExec();
        cuGraphInstantiate(r.exec, r.graph, 0);
        return r;
    }

    @Override
    public void run() {
        if (closed) throw new IllegalStateException("the replay is closed");
        context.current();
        // the previous launch may still read the pinned inputs
        cuStreamSynchronize(context.stream);
        for (Map.Entry<int[], Pointer> e : pinned.entrySet()) {
            int[] in = e.getKey();
            if (in.length > 0)
                e.getValue().getByteBuffer(0, in.length * 4L).order(ByteOrder.nativeOrder()).asIntBuffer().put(in);
        }
        // the graph writes its tensors without taking their addresses again: no bf16 twin made
        // before can be trusted after it (DeviceMemory.bf16Twin)
        memory.invalidateTwins();
        cuGraphLaunch(exec, context.stream);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (context.isClosed()) return;
        context.current();
        cuStreamSynchronize(context.stream);
        if (exec != null) cuGraphExecDestroy(exec);
        if (graph != null) cuGraphDestroy(graph);
        for (Pointer p : pinned.values()) cuMemFreeHost(p);
    }
}
