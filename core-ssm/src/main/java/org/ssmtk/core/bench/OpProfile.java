package org.ssmtk.core.bench;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.tensor.Tensor;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * Where a step's time goes, operation by operation: a {@link Backend} that forwards every call and,
 * while {@link #enabled}, waits for the device after each one and charges the wall time to the
 * call's method and tensor shapes. Waiting after every call serialises what the stream would have
 * overlapped and adds a few microseconds per call, so the per-operation times sum to a little more
 * than an unprofiled step; they are for finding where the time goes, not for quoting speeds.
 */
final class OpProfile {
    private record Cost(long calls, long nanos) {}

    private final Map<String, Cost> costs = new LinkedHashMap<>();
    private final Runnable waitForDevice;
    private boolean enabled;

    private OpProfile(Runnable waitForDevice) {
        this.waitForDevice = waitForDevice;
    }

    /** The profiled view of target and its recorder; waitForDevice blocks until queued work is done. */
    static Map.Entry<Backend, OpProfile> wrap(Backend target, Runnable waitForDevice) {
        OpProfile profile = new OpProfile(waitForDevice);
        Backend view = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class},
                (proxy, method, args) -> profile.call(target, method, args));
        return Map.entry(view, profile);
    }

    void enable(boolean on) {
        if (on) waitForDevice.run();
        enabled = on;
    }

    private Object call(Backend target, Method method, Object[] args) throws Throwable {
        if (!enabled) return invoke(target, method, args);
        long t0 = System.nanoTime();
        Object result = invoke(target, method, args);
        waitForDevice.run();
        long dt = System.nanoTime() - t0;
        costs.merge(key(method, args), new Cost(1, dt), (a, b) -> new Cost(a.calls + b.calls, a.nanos + b.nanos));
        return result;
    }

    private static Object invoke(Backend target, Method method, Object[] args) throws Throwable {
        try {
            return method.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    private static String key(Method method, Object[] args) {
        StringJoiner shapes = new StringJoiner(" ");
        if (args != null)
            for (Object a : args)
                if (a instanceof Tensor t && shapes.length() < 48) { // the first few say which call it is
                    StringJoiner dims = new StringJoiner("x");
                    for (int d : t.shape()) dims.add(Integer.toString(d));
                    shapes.add(dims.toString());
                }
        return method.getName() + " " + shapes;
    }

    /** The table, most expensive first: ms per step (over steps), calls per step, share of the total. */
    List<String> table(int steps) {
        List<Map.Entry<String, Cost>> rows = new ArrayList<>(costs.entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue().nanos, a.getValue().nanos));
        long total = 0;
        for (var r : rows) total += r.getValue().nanos;
        Map<String, Long> byMethod = new LinkedHashMap<>();
        for (var r : rows) byMethod.merge(r.getKey().split(" ", 2)[0], r.getValue().nanos, Long::sum);
        List<String> out = new ArrayList<>();
        out.add(String.format(Locale.ROOT, "profile: %.2f ms per step in %d kinds of call (each followed by a device wait)",
                total / 1e6 / steps, rows.size()));
        List<Map.Entry<String, Long>> methods = new ArrayList<>(byMethod.entrySet());
        methods.sort((a, b) -> Long.compare(b.getValue(), a.getValue()));
        for (var m : methods)
            out.add(String.format(Locale.ROOT, "  %-28s %9.2f ms/step %5.1f%%", m.getKey(), m.getValue() / 1e6 / steps,
                    100.0 * m.getValue() / total));
        for (var r : rows) {
            Cost c = r.getValue();
            if (100.0 * c.nanos / total < 0.2) break;
            out.add(String.format(Locale.ROOT, "    %9.3f ms/step %5.1f%% %5d calls/step  %s", c.nanos / 1e6 / steps,
                    100.0 * c.nanos / total, c.calls / steps, r.getKey()));
        }
        return out;
    }
}
