package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.Backend;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A backend that implements only Backend's Mamba-1 operations keeps the Mamba-2 defaults: the model refuses it in one line before placing any parameter on it,
 * and a direct call to an SSD operation names the backend rather than failing somewhere inside.
 */
class Mamba2BackendRefusalTest {
    static Backend mamba1Only(String name) {
        InvocationHandler h = (proxy, method, args) -> {
            if (method.getName().equals("name")) return name;
            if (method.isDefault()) return InvocationHandler.invokeDefault(proxy, method, args);
            throw new AssertionError("the model touched " + method.getName() + " before refusing the backend");
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, h);
    }

    @Test
    void aBackendWithoutSsdKernelsIsRefusedInOneLine() throws Exception {
        MambaCheckpoint ckpt = MambaCheckpoint.load(Fixtures.dir("tiny-mamba2"));
        Backend other = mamba1Only("other");
        var e = assertThrows(IllegalArgumentException.class, () -> MambaModel.load(other, ckpt));
        assertEquals("Mamba-2 needs SSD kernels, which the other backend does not have (use --device cpu or cuda)",
                e.getMessage());
        var u = assertThrows(UnsupportedOperationException.class,
                () -> other.ssdScan(null, null, null, null, null, null, null, null, null, null, 1, 1, null));
        assertTrue(u.getMessage().startsWith("the other backend has no Mamba-2 kernels"), u.getMessage());
    }
}
