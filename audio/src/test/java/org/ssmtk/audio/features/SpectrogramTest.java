package org.ssmtk.audio.features;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpectrogramTest {
    @Test
    void aToneShowsUpInItsBin() {
        // 1000 Hz at 8 kHz with a 256-point FFT: bin 1000 / (8000 / 256) = 32 exactly
        Spectrogram.Result s = Spectrogram.standard(MfccTest.tone(8000, 8000, 1000), 8000);
        assertEquals(256, s.size());
        assertEquals(64, s.hop());
        assertEquals(1 + (8000 - 256 + 63) / 64, s.db().length);
        assertEquals(128, s.db()[0].length);
        assertEquals(1000.0, s.binHz(32), 1e-9);
        for (int f = 0; f < s.db().length - 1; f++) {
            float[] row = s.db()[f];
            int best = 0;
            for (int k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
            assertEquals(32, best, "frame " + f);
            assertTrue(row[32] - row[80] > 60, "a Hann window keeps leakage far from the tone 60 dB down, frame " + f);
        }
        float[][] silent = Spectrogram.of(new float[100], 8000, 64, 16).db();
        assertEquals(3 + 1, silent.length);
        assertEquals(-120, silent[0][5], 1e-3, "silence is the 1e-12 floor");
        assertThrows(IllegalArgumentException.class, () -> Spectrogram.of(new float[10], 8000, 100, 10));
    }
}
