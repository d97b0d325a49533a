package org.ssmtk.core.backend.cpu;

/**
 * Mamba-2's gated RMSNorm on the CPU: g = x * silu(z), then each group of groupSize consecutive
 * features of a row is divided by its root mean square, then scaled by weight:
 * out = weight * g / sqrt(mean_group(g^2) + eps). Forward and backward work on rows [r0, r1); the
 * backward's weight gradient goes into a per-task partial row so that tasks never share outputs.
 */
public final class CpuGatedRmsNorm {
    private CpuGatedRmsNorm() {}

    public record Operands(float[] x, int xOff, float[] z, int zOff, float[] w, int wOff, int width, int groupSize, float eps) {}

    static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }

    public static void forward(Operands o, float[] out, int outOff, int r0, int r1) {
        int width = o.width(), gs = o.groupSize();
        double[] gate = new double[gs];
        for (int r = r0; r < r1; r++) {
            for (int g0 = 0; g0 < width; g0 += gs) {
                double ss = 0;
                for (int i = 0; i < gs; i++) {
                    int at = r * width + g0 + i;
                    double v = o.x()[o.xOff() + at] * silu(o.z()[o.zOff() + at]);
                    gate[i] = v;
                    ss += v * v;
                }
                double inv = 1 / Math.sqrt(ss / gs + o.eps());
                for (int i = 0; i < gs; i++)
                    out[outOff + r * width + g0 + i] = (float) (o.w()[o.wOff() + g0 + i] * (gate[i] * inv));
            }
        }
    }

    /** dx, dz (+=) for rows [r0, r1); the weight gradient of those rows into partial[0, width) (+=). */
    public static void backward(Operands o, float[] dOut, int dOutOff, float[] dx, int dxOff, float[] dz, int dzOff,
                                float[] partial, int r0, int r1) {
        int width = o.width(), gs = o.groupSize();
        double[] gate = new double[gs], sig = new double[gs];
        for (int r = r0; r < r1; r++) {
            for (int g0 = 0; g0 < width; g0 += gs) {
                double ss = 0, dot = 0;
                for (int i = 0; i < gs; i++) {
                    int at = r * width + g0 + i;
                    double zv = o.z()[o.zOff() + at];
                    double s = 1 / (1 + Math.exp(-zv));
                    sig[i] = s;
                    double v = o.x()[o.xOff() + at] * zv * s;
                    gate[i] = v;
                    ss += v * v;
                    dot += (double) dOut[dOutOff + at] * o.w()[o.wOff() + g0 + i] * v;
                }
                double inv = 1 / Math.sqrt(ss / gs + o.eps());
                double coef = inv * inv * inv * dot / gs;
                for (int i = 0; i < gs; i++) {
                    int at = r * width + g0 + i;
                    double gy = dOut[dOutOff + at];
                    partial[g0 + i] += (float) (gy * gate[i] * inv);
                    double dGate = inv * o.w()[o.wOff() + g0 + i] * gy - coef * gate[i];
                    double zv = o.z()[o.zOff() + at], s = sig[i];
                    dx[dxOff + at] += (float) (dGate * zv * s);
                    dz[dzOff + at] += (float) (dGate * o.x()[o.xOff() + at] * s * (1 + zv * (1 - s)));
                }
            }
        }
    }
}
