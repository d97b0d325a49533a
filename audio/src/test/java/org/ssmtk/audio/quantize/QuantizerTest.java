package org.ssmtk.audio.quantize;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizerTest {
    final MuLaw mu = new MuLaw();
    final Linear8 lin = new Linear8();

    @Test
    void muLawKnownValues() {
        assertEquals(128, mu.encode(0f));
        assertEquals(255, mu.encode(1f));
        assertEquals(0, mu.encode(-1f));
        assertEquals(255, mu.encode(3f), "clipped");
        assertEquals(1f, mu.decode(255), 1e-6);
        assertEquals(-1f, mu.decode(0), 1e-6);
        // Code 128 is the smallest positive level: F^-1(1/255) = (256^(1/255) - 1) / 255.
        assertEquals((Math.pow(256, 1.0 / 255) - 1) / 255, mu.decode(128), 1e-7);
        assertEquals(-mu.decode(128), mu.decode(127), 1e-7);
    }

    @Test
    void muLawIsMonotoneAndDecodeEncodeIsExact() {
        int prev = 0;
        for (int i = -10000; i <= 10000; i++) {
            int c = mu.encode(i / 10000f);
            assertTrue(c >= prev);
            prev = c;
        }
        for (int c = 0; c < 256; c++) {
            assertEquals(c, mu.encode(mu.decode(c)), "code " + c);
            assertEquals(c, lin.encode(lin.decode(c)), "linear code " + c);
            if (c > 0) assertTrue(mu.decode(c) > mu.decode(c - 1));
        }
    }

    @Test
    void muLawRoundTripErrorIsBoundedByHalfAStep() {
        // The error is at most half the gap between neighbouring levels, which is smallest near zero.
        for (int i = -1000; i <= 1000; i++) {
            float x = i / 1000f;
            int c = mu.encode(x);
            double lo = c == 0 ? 0 : mu.decode(c) - mu.decode(c - 1), hi = c == 255 ? 0 : mu.decode(c + 1) - mu.decode(c);
            assertTrue(Math.abs(mu.decode(c) - x) <= Math.max(lo, hi) / 2 + 1e-6, "x " + x);
            assertTrue(Math.abs(mu.decode(c) - x) <= 0.032, "x " + x); // the widest step, at |x| = 1, is ~0.0612
        }
        assertTrue(Math.abs(mu.decode(mu.encode(0.001f)) - 0.001) < 1e-4, "fine resolution near zero");
    }

    @Test
    void linearKnownValues() {
        assertEquals(128, lin.encode(0f));
        assertEquals(255, lin.encode(1f));
        assertEquals(0, lin.encode(-1f));
        for (int i = -1000; i <= 1000; i++) assertTrue(Math.abs(lin.decode(lin.encode(i / 1000f)) - i / 1000f) <= 1.0 / 255 + 1e-6);
        assertThrows(IllegalArgumentException.class, () -> lin.decode(256));
        assertThrows(IllegalArgumentException.class, () -> mu.decode(-1));
        assertEquals("mu-law", Quantizer.named("mu-law").name());
    }
}
