package org.ssmtk.core.backend.cuda;

import jcuda.driver.CUevent;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureStatus;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static jcuda.driver.JCudaDriver.*;

/**
 * Device time per kernel while switched on: a pair of events on the stream around every launch of
 * our kernels and every cuBLAS call, read back in batches. What torch.profiler's "Self CUDA" column
 * gives for the reference (bench/peers/mamba2_e2e.py M2_PROFILE=1), for ssmtk (ModelBench kernels=N):
 * OpProfile times a Backend call as a whole and waits for the device after each one, which neither
 * names the kernels inside an SSD scan nor leaves the queue running ahead as in training. Off (the
 * default) a launch pays one field read. Work captured into a CUDA graph is not timed (an event
 * recorded during capture is not a timestamp).
 */
final class KernelTimes {
    /** Timed launches held before the host reads their events back, which waits for the device. */
    private static final int BATCH = 2048;

    private record Pending(String name, CUevent start, CUevent end) {}

    private final CUstream stream;
    private final ArrayDeque<CUevent> free = new ArrayDeque<>();
    private final List<Pending> pending = new ArrayList<>();
    /** Kernel name -> {milliseconds, calls}, in order of first launch. */
    private final Map<String, double[]> totals = new LinkedHashMap<>();
    private boolean on;

    KernelTimes(CUstream stream) {
        this.stream = stream;
    }

    void enable(boolean enabled) {
        if (!enabled) collect();
        on = enabled;
    }

    /** The start event of a launch to time, or null when off or capturing (then {@link #end} is not called). */
    CUevent begin() {
        if (!on) return null;
        int[] status = {0};
        cuStreamIsCapturing(stream, status);
        if (status[0] != CUstreamCaptureStatus.CU_STREAM_CAPTURE_STATUS_NONE) return null;
        CUevent e = take();
        cuEventRecord(e, stream);
        return e;
    }

    void end(CUevent start, String name) {
        CUevent e = take();
        cuEventRecord(e, stream);
        pending.add(new Pending(name, start, e));
        if (pending.size() >= BATCH) collect();
    }

    /** Waits for the timed launches so far and adds them up. */
    void collect() {
        if (pending.isEmpty()) return;
        cuEventSynchronize(pending.getLast().end());
        float[] ms = {0};
        for (Pending p : pending) {
            cuEventElapsedTime(ms, p.start(), p.end());
            double[] t = totals.computeIfAbsent(p.name(), n -> new double[2]);
            t[0] += ms[0];
            t[1]++;
            free.add(p.start());
            free.add(p.end());
        }
        pending.clear();
    }

    /**
     * The kernels' times per step (steps: how many steps the timed launches span), longest first,
     * then a total; forgets them.
     */
    List<String> table(int steps) {
        collect();
        double sum = 0;
        for (double[] t : totals.values()) sum += t[0];
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(totals.entrySet());
        rows.sort((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]));
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "kernel times (device, events around each launch), per step over %d steps:", steps));
        out.add(String.format(Locale.ROOT, "%-60s %10s %7s %8s %6s", "kernel", "ms/step", "calls", "us/call", "%"));
        for (var r : rows) {
            double ms = r.getValue()[0], calls = r.getValue()[1];
            out.add(String.format(Locale.ROOT, "%-60s %10.3f %7.0f %8.1f %6.1f", r.getKey(), ms / steps, calls / steps,
                    1000 * ms / calls, 100 * ms / sum));
        }
        out.add(String.format(Locale.ROOT, "%-60s %10.3f", "total", sum / steps));
        totals.clear();
        return out;
    }

    void destroy() {
        collect();
        for (CUevent e : free) cuEventDestroy(e);
        free.clear();
    }

    private CUevent take() {
        CUevent e = free.poll();
        if (e != null) return e;
        e = new CUevent();
        cuEventCreate(e, 0);
        return e;
    }
}
