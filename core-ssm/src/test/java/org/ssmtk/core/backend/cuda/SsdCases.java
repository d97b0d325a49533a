package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.backend.SsdShape;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The SSD shapes and inputs of CudaSsdTest (GPU): those of the CPU's SsdScanTest (odd widths, L = 1,
 * several groups, clamped dt, chunks of one step, many chunks) and the shapes where the GPU's 64 x 64
 * tiles matter (chunks of several tiles, a last chunk that ends inside a tile, the presets' 64-channel
 * heads, heads and states of two tiles, a partial one each).
 */
final class SsdCases {
    private SsdCases() {}

    /** batch, len, heads, headDim, groups, state, chunk, dtMin, dtMax. */
    record Case(int batch, int len, int heads, int headDim, int groups, int state, int chunk, float dtMin, float dtMax) {
        SsdShape shape() {
            return new SsdShape(heads, headDim, groups, state, chunk, dtMin, dtMax);
        }

        int rows() {
            return batch * len;
        }

        int chunks() {
            return (len + chunk - 1) / chunk;
        }

        int stateSize() {
            return heads * headDim * state;
        }

        @Override
        public String toString() {
            return batch + "x" + len + ", " + heads + " heads of " + headDim + ", " + groups + " groups, state " + state
                    + ", chunk " + chunk + ", dt in [" + dtMin + ", " + dtMax + "]";
        }
    }

    static Stream<Case> cases() {
        float inf = Float.POSITIVE_INFINITY;
        return Stream.of(
                new Case(2, 37, 4, 16, 1, 16, 8, 0f, inf),     // the tiny-mamba2 fixture's shape
                new Case(1, 1, 3, 5, 3, 7, 8, 0f, inf),        // L = 1, one head per group
                new Case(3, 29, 6, 3, 2, 5, 4, 0f, inf),       // several groups, odd widths
                new Case(2, 48, 4, 8, 2, 9, 16, 0f, inf),      // a multiple of the chunk
                new Case(1, 23, 2, 17, 1, 33, 32, 0f, inf),    // one partial chunk
                new Case(2, 19, 4, 4, 4, 4, 5, 0.3f, 1.2f),    // time_step_limit clamps some dt at both ends
                new Case(2, 70, 2, 4, 1, 3, 1, 0f, inf),       // chunks of one step
                new Case(1, 150, 4, 8, 2, 8, 2, 0f, inf),      // 75 chunks
                new Case(1, 300, 3, 8, 1, 16, 256, 0f, inf),   // a preset's chunk: 4 tiles of steps, a partial second chunk
                new Case(2, 100, 2, 64, 1, 32, 64, 0f, inf),   // 64-channel heads (the presets'), 32 states
                new Case(1, 600, 2, 64, 1, 128, 512, 0f, inf), // 130m-mamba2's state; 8 tiles of steps per chunk
                new Case(1, 150, 2, 70, 1, 66, 128, 0f, inf),  // channels and states over one tile, partial tiles
                new Case(2, 200, 6, 32, 2, 48, 128, 0f, inf)); // 3 heads per group over 2 groups, tiles of steps
    }

    /** Random inputs of one case as floats: x, dt, dtBias, A (negative), B, C, D. */
    static Map<String, float[]> inputs(Case k, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int rows = k.rows(), di = k.heads * k.headDim, gn = k.groups * k.state;
        Map<String, float[]> in = new LinkedHashMap<>();
        in.put("x", gauss(r, rows * di, 1));
        in.put("dt", gauss(r, rows * k.heads, 1));
        in.put("dtBias", gauss(r, k.heads, 0.5));
        float[] a = new float[k.heads];
        for (int h = 0; h < k.heads; h++) a[h] = (float) -Math.exp(0.5 * r.nextGaussian());
        in.put("A", a);
        in.put("B", gauss(r, rows * gn, 1));
        in.put("C", gauss(r, rows * gn, 1));
        in.put("D", gauss(r, k.heads, 1));
        return in;
    }

    static float[] gauss(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return v;
    }

    /** Rows of position pos of every sequence: (batch, width) out of (batch * len, width). */
    static float[] position(float[] m, int batch, int len, int pos) {
        int width = m.length / (batch * len);
        float[] out = new float[batch * width];
        for (int s = 0; s < batch; s++) System.arraycopy(m, (s * len + pos) * width, out, s * width, width);
        return out;
    }
}
