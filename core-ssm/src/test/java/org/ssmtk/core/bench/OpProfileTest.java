package org.ssmtk.core.bench;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.device.Backends;
import org.ssmtk.core.tensor.Tensor;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpProfileTest {
    @Test
    void forwardsEveryCallAndChargesOnlyWhileEnabled() {
        try (Backend cpu = Backends.open("cpu", 1, s -> {})) {
            AtomicInteger waits = new AtomicInteger();
            var wrapped = OpProfile.wrap(cpu, waits::incrementAndGet);
            Backend view = wrapped.getKey();
            Tensor x = view.fromHost(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor w = view.fromHost(new float[]{1, 0, 0, 0, 1, 0}, 2, 3);
            Tensor out = view.allocate(2, 2);
            view.linear(out, x, w, null); // not charged: profiling is off
            wrapped.getValue().enable(true);
            for (int i = 0; i < 3; i++) view.linear(out, x, w, null);
            wrapped.getValue().enable(false);
            assertArrayEquals(new float[]{1, 2, 4, 5}, view.toHost(out), 0f, "the proxy must return the backend's results");
            assertEquals(4, waits.get(), "one wait on enabling, one after each profiled call");
            List<String> table = wrapped.getValue().table(1);
            assertTrue(table.stream().anyMatch(l -> l.contains("3 calls/step") && l.contains("linear 2x2 2x3 2x3")), String.join("\n", table));
            assertTrue(table.stream().noneMatch(l -> l.contains("allocate")), "calls before enable are not charged:\n" + String.join("\n", table));
            // the backend's own exceptions come through unwrapped
            assertThrows(IllegalArgumentException.class, () -> view.linear(view.allocate(3, 3), x, w, null));
        }
    }
}
