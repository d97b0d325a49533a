package org.ssmtk.audio.features;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MfccTest {
    static float[] tone(int rate, int n, double hz) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (0.5 * Math.sin(2 * Math.PI * hz * i / rate));
        return x;
    }

    @Test
    void shapeFollowsFramesAndHop() {
        Mfcc m = Mfcc.standard(8000);
        assertEquals(20, m.coefficients());
        assertEquals(40, m.pooledSize());
        // 32 ms at 8 kHz = 256 samples (a power of two), hop 128: 1 + ceil((8000 - 256) / 128) frames
        assertEquals(1 + 61, m.frames(8000));
        assertEquals(62, m.frames(tone(8000, 8000, 440)).length);
        assertEquals(1, m.frames(new float[10]).length, "a clip shorter than a frame is one padded frame");
        assertEquals(20, m.frames(new float[10])[0].length);
        assertEquals(Mfcc.standard(16000).frames(16000), 1 + (16000 - 512 + 255) / 256);
        assertThrows(IllegalArgumentException.class, () -> new Mfcc(8000, 200, 100, 13, 26));
    }

    @Test
    void silenceIsTheLogFloorInC0AndZeroElsewhere() {
        // TarsosDSP floors log mel energies at -50; the DCT's c0 sums the 30 filters, the others cancel
        float[] c = Mfcc.standard(8000).frames(new float[8000])[10];
        assertEquals(-50 * 30, c[0], 1e-3);
        for (int i = 1; i < c.length; i++) assertEquals(0, c[i], 1e-3, "c" + i);
    }

    @Test
    void steadyToneHasSteadyCoefficientsAndPitchAndLoudnessChangeThem() {
        Mfcc m = Mfcc.standard(8000);
        double[] a = m.pooled(tone(8000, 8000, 440)), b = m.pooled(tone(8000, 8000, 1500));
        for (double v : a) assertTrue(Double.isFinite(v));
        // a stationary tone: low cepstra barely move from frame to frame (c0 does: far filters sit near the log floor)
        float[][] f = m.frames(tone(8000, 8000, 440));
        for (int c = 1; c < 5; c++) assertEquals(f[3][c], f[40][c], 0.5 + 0.15 * Math.abs(f[3][c]), "coefficient " + c);
        double diff = 0;
        for (int c = 1; c < 20; c++) diff += Math.abs(a[c] - b[c]);
        assertTrue(diff > 10, "440 Hz and 1500 Hz must differ in their cepstra, got " + diff);
        assertTrue(m.pooled(scale(tone(8000, 8000, 440), 2))[0] > a[0] + 1, "c0 follows loudness");
    }

    private static float[] scale(float[] x, float k) {
        float[] y = x.clone();
        for (int i = 0; i < y.length; i++) y[i] *= k;
        return y;
    }
}
