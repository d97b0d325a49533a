package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.backend.SsdShape;

/**
 * A plain-Java transcription of ssd.cu and of CudaSsd's launch order, so that the GPU algorithm (its
 * chunking, tiles, phases and every index expression) is tested on a machine without a GPU
 * (SsdKernelModelTest, against CpuBackend). Each method is one kernel: its blocks run one after
 * another, and each phase between two __syncthreads is one loop over what the block's threads share
 * out by striding (the order of a strided loop's iterations does not matter inside a phase; shared
 * atomics become plain adds; a dot that a warp shares out along its lanes is a plain sum). The tile
 * sizes are those the committed PTX exports. What this cannot check is the CUDA itself (a missing
 * barrier, a wrong launch bound, the device's float functions): scripts/ssd-host-check.sh runs the
 * .cu on the host for that. Keep it in step with ssd.cu, kernel by kernel.
 */
final class SsdKernelModel {
    final int tile, bwdTile;

    SsdKernelModel() {
        PtxModule m = PtxModule.load(SsdKernels.MODULE);
        tile = m.constant("SSD_TILE");
        bwdTile = m.constant("SSD_BWD_TILE");
    }

    static int chunks(int len, int q) {
        return (len + q - 1) / q;
    }

    static float softplus(float x) {
        return x > 20f ? x : (float) Math.log1p(Math.exp(x));
    }

    static float expf(float x) {
        return (float) Math.exp(x);
    }

    static float silu(float v) {
        return v / (1f + (float) Math.exp(-v));
    }

    static float sigmoid(float v) {
        return 1f / (1f + (float) Math.exp(-v));
    }

    // ---- the kernels

    static void timeSteps(float[] w, double[] l, float[] gw, float[] dt, float[] dtBias, float[] a, int batch, int len,
                          int heads, int q, float dtMin, float dtMax) {
        int nc = chunks(len, q);
        long total = (long) batch * nc * heads;
        for (long i = 0; i < total; i++) {
            int h = (int) (i % heads);
            long bc = i / heads;
            int c = (int) (bc % nc), b = (int) (bc / nc);
            int t0 = c * q, lc = Math.min(q, len - t0);
            float bias = dtBias[h], av = a[h];
            double sum = 0;
            for (int t = 0; t < lc; t++) {
                int at = (b * len + t0 + t) * heads + h;
                float pre = dt[at] + bias;
                float sp = softplus(pre);
                float v = Math.min(Math.max(sp, dtMin), dtMax);
                w[at] = v;
                sum += (double) v * av;
                l[at] = sum;
                if (gw != null) gw[at] = sp < dtMin || sp > dtMax ? 0f : pre > 20f ? 1f : (float) (1.0 / (1.0 + Math.exp(-(double) pre)));
            }
        }
    }

    /** ssd_outer_sum: CARRY false is ssd_chunk_state (u x, v B), true ssd_carry_local (u dy, v C). */
    static void outerSum(boolean carry, float[] out, float[] u, float[] v, float[] w, double[] l, int batch, int len, int heads,
                         int p, int groups, int n, int q) {
        int nc = chunks(len, q);
        for (int block = 0; block < batch * nc * heads; block++) {
            float[] coef = new float[q];
            int h = block % heads, bc = block / heads, c = bc % nc, b = bc / nc;
            int g = h / (heads / groups), di = heads * p, gn = groups * n;
            int t0 = c * q, lc = Math.min(q, len - t0);
            int row0 = b * len + t0;
            double last = l[(row0 + lc - 1) * heads + h];
            for (int s = 0; s < lc; s++) {
                double ls = l[(row0 + s) * heads + h];
                coef[s] = carry ? expf((float) ls) : expf((float) (last - ls)) * w[(row0 + s) * heads + h];
            }
            int outAt = (bc * heads + h) * p * n;
            for (int e = 0; e < p * n; e++) {
                int pp = e / n, j = e % n;
                float acc = 0f;
                for (int s = 0; s < lc; s++) {
                    int r = row0 + s;
                    acc += (coef[s] * u[r * di + h * p + pp]) * v[r * gn + g * n + j];
                }
                out[outAt + e] = acc;
            }
        }
    }

    static void statePass(float[] states, float[] running, double[] l, int batch, int len, int heads, int pn, int q) {
        int nc = chunks(len, q);
        long total = (long) batch * heads * pn;
        for (int i = 0; i < total; i++) {
            int e = i % pn, bh = i / pn;
            int h = bh % heads, b = bh / heads;
            float hv = running != null ? running[i] : 0f;
            for (int c = 0; c < nc; c++) {
                int at = ((b * nc + c) * heads + h) * pn + e;
                float s = states[at];
                states[at] = hv;
                int t0 = c * q, lc = Math.min(q, len - t0);
                float decay = expf((float) l[(b * len + t0 + lc - 1) * heads + h]);
                hv = decay * hv + s;
            }
            if (running != null) running[i] = hv;
        }
    }

    static void carryPass(float[] carries, double[] l, int batch, int len, int heads, int pn, int q) {
        int nc = chunks(len, q);
        long total = (long) batch * heads * pn;
        for (int i = 0; i < total; i++) {
            int e = i % pn, bh = i / pn;
            int h = bh % heads, b = bh / heads;
            float dH = 0f;
            for (int c = nc - 1; c >= 0; c--) {
                int at = ((b * nc + c) * heads + h) * pn + e;
                float u = carries[at];
                carries[at] = dH;
                int t0 = c * q, lc = Math.min(q, len - t0);
                float decay = expf((float) l[(b * len + t0 + lc - 1) * heads + h]);
                dH = decay * dH + u;
            }
        }
    }

    void chunkOutput(float[] y, float[] x, float[] B, float[] C, float[] D, float[] states, float[] w, double[] l, int batch,
                     int len, int heads, int p, int groups, int n, int q) {
        int nc = chunks(len, q), tiles = (q + tile - 1) / tile;
        for (int bx = 0; bx < batch * nc * groups; bx++)
            for (int by = 0; by < tiles; by++) {
                float[] G = new float[tile * q], M = new float[tile * q];
                int g = bx % groups, bc = bx / groups, c = bc % nc, b = bc / nc;
                int t0c = c * q, lc = Math.min(q, len - t0c), r0 = by * tile;
                if (r0 >= lc) continue;
                int r1 = Math.min(lc, r0 + tile), rows = r1 - r0, cols = r1;
                int hpg = heads / groups, di = heads * p, gn = groups * n;
                int row0 = b * len + t0c;
                for (int i = 0; i < rows * cols; i++) {
                    int tl = i / cols, s = i % cols, t = r0 + tl;
                    float acc = 0f;
                    if (s <= t) {
                        int cr = (row0 + t) * gn + g * n, br = (row0 + s) * gn + g * n;
                        for (int j = 0; j < n; j++) acc += C[cr + j] * B[br + j];
                    }
                    G[tl * q + s] = acc;
                }
                for (int hk = 0; hk < hpg; hk++) {
                    int h = g * hpg + hk;
                    for (int i = 0; i < rows * cols; i++) {
                        int tl = i / cols, s = i % cols, t = r0 + tl;
                        float m = 0f;
                        if (s <= t) {
                            double lt = l[(row0 + t) * heads + h], ls = l[(row0 + s) * heads + h];
                            m = G[tl * q + s] * expf((float) (lt - ls)) * w[(row0 + s) * heads + h];
                        }
                        M[tl * q + s] = m;
                    }
                    float dSkip = D[h];
                    for (int i = 0; i < rows * p; i++) {
                        int tl = i / p, pp = i % p, t = r0 + tl;
                        int xt = (row0 + t) * di + h * p + pp;
                        float acc = dSkip * x[xt];
                        for (int s = 0; s <= t; s++) acc += M[tl * q + s] * x[(row0 + s) * di + h * p + pp];
                        y[xt] = acc;
                    }
                    if (states != null) {
                        int h0 = (bc * heads + h) * p * n;
                        for (int i = 0; i < rows * p; i++) {  // a warp per (t, p) on the GPU
                            int tl = i / p, pp = i % p, t = r0 + tl;
                            int cr = (row0 + t) * gn + g * n;
                            float off = 0f;
                            for (int j = 0; j < n; j++) off += C[cr + j] * states[h0 + pp * n + j];
                            y[(row0 + t) * di + h * p + pp] += expf((float) l[(row0 + t) * heads + h]) * off;
                        }
                    }
                }
            }
    }

    static void step(float[] y, float[] state, float[] x, float[] dt, float[] dtBias, float[] a, float[] B, float[] C, float[] D,
                     int batch, int heads, int p, int groups, int n, float dtMin, float dtMax) {
        for (int block = 0; block < batch * heads; block++) {
            int h = block % heads, b = block / heads, g = h / (heads / groups);
            int di = heads * p, gn = groups * n;
            float v = Math.min(Math.max(softplus(dt[b * heads + h] + dtBias[h]), dtMin), dtMax);
            float decay = expf(v * a[h]);
            int br = b * gn + g * n, cr = b * gn + g * n;
            for (int pp = 0; pp < p; pp++) {
                float xv = x[b * di + h * p + pp], wx = v * xv, acc = 0f;
                int st = (b * heads + h) * p * n + pp * n;
                for (int j = 0; j < n; j++) {
                    float hv = (state != null ? decay * state[st + j] : 0f) + wx * B[br + j];
                    if (state != null) state[st + j] = hv;
                    acc += hv * C[cr + j];
                }
                y[b * di + h * p + pp] = acc + D[h] * xv;
            }
        }
    }

    void backwardRows(float[] dC, double[] dl, float[] dy, float[] x, float[] B, float[] C, float[] states, float[] w, double[] l,
                      int batch, int len, int heads, int p, int groups, int n, int q) {
        int nc = chunks(len, q), tiles = (q + bwdTile - 1) / bwdTile;
        for (int bx = 0; bx < batch * nc * groups; bx++)
            for (int by = 0; by < tiles; by++) {
                double[] dlRow = new double[bwdTile];
                float[] G = new float[bwdTile * q], dG = new float[bwdTile * q], acc = new float[bwdTile * n];
                int g = bx % groups, bc = bx / groups, c = bc % nc, b = bc / nc;
                int t0c = c * q, lc = Math.min(q, len - t0c), r0 = by * bwdTile;
                if (r0 >= lc) continue;
                int r1 = Math.min(lc, r0 + bwdTile), rows = r1 - r0, cols = r1;
                int hpg = heads / groups, di = heads * p, gn = groups * n;
                int row0 = b * len + t0c;
                for (int i = 0; i < rows * cols; i++) {
                    int tl = i / cols, s = i % cols, t = r0 + tl;
                    float a = 0f;
                    if (s <= t) {
                        int cr = (row0 + t) * gn + g * n, br = (row0 + s) * gn + g * n;
                        for (int j = 0; j < n; j++) a += C[cr + j] * B[br + j];
                    }
                    G[tl * q + s] = a;
                }
                for (int i = 0; i < rows * n; i++) acc[i] = 0f;
                for (int hk = 0; hk < hpg; hk++) {
                    int h = g * hpg + hk;
                    for (int tid = 0; tid < rows; tid++) dlRow[tid] = 0.0;
                    for (int i = 0; i < rows * cols; i++) {
                        int tl = i / cols, s = i % cols, t = r0 + tl;
                        float dg = 0f;
                        if (s <= t) {
                            double lt = l[(row0 + t) * heads + h], ls = l[(row0 + s) * heads + h];
                            float e = expf((float) (lt - ls)), ws = w[(row0 + s) * heads + h];
                            float m = G[tl * q + s] * e * ws;
                            int dyr = (row0 + t) * di + h * p, xr = (row0 + s) * di + h * p;
                            float dm = 0f;
                            for (int pp = 0; pp < p; pp++) dm += dy[dyr + pp] * x[xr + pp];
                            dg = dm * e * ws;
                            dlRow[tl] += (double) dm * m;
                        }
                        dG[tl * q + s] = dg;
                    }
                    int h0 = (bc * heads + h) * p * n;
                    for (int i = 0; i < rows * p; i++) {
                        int tl = i / p, pp = i % p, t = r0 + tl;
                        int cr = (row0 + t) * gn + g * n;
                        float hc = 0f;
                        for (int j = 0; j < n; j++) hc += C[cr + j] * states[h0 + pp * n + j];
                        float et = expf((float) l[(row0 + t) * heads + h]);
                        dlRow[tl] += (double) et * dy[(row0 + t) * di + h * p + pp] * hc;
                    }
                    for (int i = 0; i < rows * n; i++) {
                        int tl = i / n, j = i % n, t = r0 + tl;
                        float a = 0f;
                        for (int s = 0; s <= t; s++) a += dG[tl * q + s] * B[(row0 + s) * gn + g * n + j];
                        float hs = 0f;
                        for (int pp = 0; pp < p; pp++) hs += dy[(row0 + t) * di + h * p + pp] * states[h0 + pp * n + j];
                        acc[i] += a + expf((float) l[(row0 + t) * heads + h]) * hs;
                    }
                    for (int tid = 0; tid < rows; tid++) dl[(row0 + r0 + tid) * heads + h] = dlRow[tid];
                }
                for (int i = 0; i < rows * n; i++) {
                    int tl = i / n, j = i % n;
                    dC[(row0 + r0 + tl) * gn + g * n + j] += acc[i];
                }
            }
    }

    void backwardCols(float[] dx, float[] dB, double[] dl, double[] dw, double[] dqq, float[] dy, float[] x, float[] B, float[] C,
                      float[] D, float[] carries, float[] w, double[] l, int batch, int len, int heads, int p, int groups, int n,
                      int q) {
        int nc = chunks(len, q), tiles = (q + bwdTile - 1) / bwdTile;
        for (int bx = 0; bx < batch * nc * groups; bx++)
            for (int by = 0; by < tiles; by++) {
                double[] dlCol = new double[bwdTile], dwS = new double[bwdTile], dqS = new double[bwdTile];
                float[] G = new float[bwdTile * q], M = new float[bwdTile * q], dG = new float[bwdTile * q];
                float[] acc = new float[bwdTile * n];
                int g = bx % groups, bc = bx / groups, c = bc % nc, b = bc / nc;
                int t0c = c * q, lc = Math.min(q, len - t0c), c0 = by * bwdTile;
                if (c0 >= lc) continue;
                int ncols = Math.min(lc, c0 + bwdTile) - c0;
                int hpg = heads / groups, di = heads * p, gn = groups * n;
                int row0 = b * len + t0c;
                for (int i = 0; i < ncols * lc; i++) {
                    int sl = i / lc, t = i % lc, s = c0 + sl;
                    float a = 0f;
                    if (t >= s) {
                        int cr = (row0 + t) * gn + g * n, br = (row0 + s) * gn + g * n;
                        for (int j = 0; j < n; j++) a += C[cr + j] * B[br + j];
                    }
                    G[sl * q + t] = a;
                }
                for (int i = 0; i < ncols * n; i++) acc[i] = 0f;
                for (int hk = 0; hk < hpg; hk++) {
                    int h = g * hpg + hk;
                    for (int tid = 0; tid < ncols; tid++) dlCol[tid] = dwS[tid] = dqS[tid] = 0.0;
                    double lLast = l[(row0 + lc - 1) * heads + h];
                    for (int i = 0; i < ncols * lc; i++) {
                        int sl = i / lc, t = i % lc, s = c0 + sl;
                        float m = 0f, dg = 0f;
                        if (t >= s) {
                            double lt = l[(row0 + t) * heads + h], ls = l[(row0 + s) * heads + h];
                            float e = expf((float) (lt - ls)), ws = w[(row0 + s) * heads + h], gts = G[sl * q + t];
                            m = gts * e * ws;
                            int dyr = (row0 + t) * di + h * p, xr = (row0 + s) * di + h * p;
                            float dm = 0f;
                            for (int pp = 0; pp < p; pp++) dm += dy[dyr + pp] * x[xr + pp];
                            dg = dm * e * ws;
                            dwS[sl] += (double) dm * gts * e;
                            dlCol[sl] += (double) dm * m;
                        }
                        M[sl * q + t] = m;
                        dG[sl * q + t] = dg;
                    }
                    int carry = (bc * heads + h) * p * n;
                    float dSkip = D[h];
                    for (int i = 0; i < ncols * p; i++) {
                        int sl = i / p, pp = i % p, s = c0 + sl;
                        int xs = (row0 + s) * di + h * p + pp;
                        float a = dSkip * dy[xs];
                        for (int t = s; t < lc; t++) a += M[sl * q + t] * dy[(row0 + t) * di + h * p + pp];
                        dx[xs] += a;
                    }
                    for (int i = 0; i < ncols * p; i++) {  // a warp per (s, p) on the GPU
                        int sl = i / p, pp = i % p, s = c0 + sl;
                        int xs = (row0 + s) * di + h * p + pp;
                        int br = (row0 + s) * gn + g * n;
                        float v = 0f;
                        for (int j = 0; j < n; j++) v += carries[carry + pp * n + j] * B[br + j];
                        double ls = l[(row0 + s) * heads + h];
                        float qs = expf((float) (lLast - ls)) * w[(row0 + s) * heads + h];
                        dqS[sl] += (double) x[xs] * v;
                        dx[xs] += qs * v;
                    }
                    for (int i = 0; i < ncols * n; i++) {
                        int sl = i / n, j = i % n, s = c0 + sl;
                        float a = 0f;
                        for (int t = s; t < lc; t++) a += dG[sl * q + t] * C[(row0 + t) * gn + g * n + j];
                        float cx = 0f;
                        for (int pp = 0; pp < p; pp++) cx += x[(row0 + s) * di + h * p + pp] * carries[carry + pp * n + j];
                        double ls = l[(row0 + s) * heads + h];
                        float qs = expf((float) (lLast - ls)) * w[(row0 + s) * heads + h];
                        acc[i] += a + qs * cx;
                    }
                    for (int tid = 0; tid < ncols; tid++) {
                        int s = c0 + tid;
                        int at = (row0 + s) * heads + h;
                        float decay = expf((float) (lLast - l[at])), qs = decay * w[at];
                        double dq = dqS[tid];
                        dw[at] = dwS[tid] + dq * decay;
                        dl[at] += -dlCol[tid] - dq * qs;
                        dqq[at] = dq * qs;
                    }
                }
                for (int i = 0; i < ncols * n; i++) {
                    int sl = i / n, j = i % n;
                    dB[(row0 + c0 + sl) * gn + g * n + j] += acc[i];
                }
            }
    }

    static void backwardFinish(float[] dDt, float[] partA, float[] partD, float[] partBias, double[] dl, double[] dw, double[] dqq,
                               float[] dy, float[] x, float[] states, float[] carries, float[] w, float[] gw, double[] l, float[] a,
                               int batch, int len, int heads, int p, int n, int q) {
        int nc = chunks(len, q);
        for (int block = 0; block < batch * nc * heads; block++) {
            int h = block % heads, bc = block / heads, c = bc % nc, b = bc / nc;
            int t0 = c * q, lc = Math.min(q, len - t0), di = heads * p;
            int row0 = b * len + t0;
            int at0 = (bc * heads + h) * p * n;
            double held = 0, dD = 0, dqSum = 0;
            for (int e = 0; e < p * n; e++) held += (double) carries[at0 + e] * states[at0 + e];
            for (int i = 0; i < lc * p; i++) {
                int t = i / p, pp = i % p;
                int at = (row0 + t) * di + h * p + pp;
                dD += (double) dy[at] * x[at];
            }
            for (int s = 0; s < lc; s++) dqSum += dqq[(row0 + s) * heads + h];
            double extra = Math.exp(l[(row0 + lc - 1) * heads + h]) * held + dqSum;
            double da = 0, dA = 0, dBias = 0, av = a[h];
            for (int t = lc - 1; t >= 0; t--) {
                int at = (row0 + t) * heads + h;
                da += dl[at] + (t == lc - 1 ? extra : 0.0);
                dA += da * w[at];
                double dPre = (dw[at] + da * av) * gw[at];
                dDt[at] += (float) dPre;
                dBias += dPre;
            }
            partA[block] = (float) dA;
            partD[block] = (float) dD;
            partBias[block] = (float) dBias;
        }
    }

    static void gatedRmsNorm(float[] out, float[] x, float[] z, float[] w, int rows, int width, int gs, float eps) {
        for (int bx = 0; bx < rows; bx++)
            for (int by = 0; by < width / gs; by++) {
                int base = bx * width + by * gs, wg = by * gs;
                double ss = 0;
                for (int i = 0; i < gs; i++) {
                    float g = x[base + i] * silu(z[base + i]);
                    ss += (double) g * g;
                }
                float inv = (float) (1.0 / Math.sqrt(ss / gs + eps));
                for (int i = 0; i < gs; i++) out[base + i] = w[wg + i] * (x[base + i] * silu(z[base + i]) * inv);
            }
    }

    static void gatedRmsNormBackward(float[] dx, float[] dz, float[] gn, float[] dOut, float[] x, float[] z, float[] w, int rows,
                                     int width, int gs, float eps) {
        for (int bx = 0; bx < rows; bx++)
            for (int by = 0; by < width / gs; by++) {
                int base = bx * width + by * gs, wg = by * gs;
                double ss = 0, dot = 0;
                for (int i = 0; i < gs; i++) {
                    float zv = z[base + i], s = sigmoid(zv), g = x[base + i] * zv * s;
                    ss += (double) g * g;
                    dot += (double) dOut[base + i] * w[wg + i] * g;
                }
                double inv = 1.0 / Math.sqrt(ss / gs + eps), coef = inv * inv * inv * dot / gs;
                for (int i = 0; i < gs; i++) {
                    float zv = z[base + i], s = sigmoid(zv), xv = x[base + i], g = xv * zv * s, gy = dOut[base + i];
                    gn[base + i] = (float) (g * inv);
                    double dGate = inv * w[wg + i] * gy - coef * g;
                    dx[base + i] += (float) (dGate * zv * s);
                    dz[base + i] += (float) (dGate * xv * s * (1f + zv * (1f - s)));
                }
            }
    }

    /** columnSums(out, m, m2 or null, rows, n): out[j] += sum_r m[r, j] (m2[r, j]). */
    static void columnSums(float[] out, float[] m, float[] m2, int rows, int n) {
        for (int j = 0; j < n; j++) {
            float s = 0f;
            for (int r = 0; r < rows; r++) s += m[r * n + j] * (m2 == null ? 1f : m2[r * n + j]);
            out[j] += s;
        }
    }

    // ---- CudaSsd's launch order

    /** CudaSsd.scan. */
    void scan(float[] y, float[] x, float[] dt, float[] dtBias, float[] a, float[] B, float[] C, float[] D, float[] ssmState,
              float[] chunkStates, int batch, int len, SsdShape s) {
        int heads = s.heads(), p = s.headDim(), groups = s.nGroups(), n = s.stateSize(), q = s.chunk(), nc = s.chunks(len);
        if (len == 1 && chunkStates == null) {
            step(y, ssmState, x, dt, dtBias, a, B, C, D, batch, heads, p, groups, n, s.dtMin(), s.dtMax());
            return;
        }
        int rows = batch * len;
        float[] w = new float[rows * heads];
        double[] l = new double[rows * heads];
        timeSteps(w, l, null, dt, dtBias, a, batch, len, heads, q, s.dtMin(), s.dtMax());
        float[] states = null;
        if (nc > 1 || ssmState != null || chunkStates != null) {
            states = chunkStates != null ? chunkStates : new float[batch * nc * heads * p * n];
            outerSum(false, states, x, B, w, l, batch, len, heads, p, groups, n, q);
            statePass(states, ssmState, l, batch, len, heads, p * n, q);
        }
        chunkOutput(y, x, B, C, D, states, w, l, batch, len, heads, p, groups, n, q);
    }

    /** CudaSsd.backward. */
    void backward(float[] dx, float[] dDt, float[] dDtBias, float[] dA, float[] dB, float[] dC, float[] dD, float[] dOut, float[] x,
                  float[] dt, float[] dtBias, float[] a, float[] B, float[] C, float[] D, float[] chunkStates, int batch, int len,
                  SsdShape s) {
        int heads = s.heads(), p = s.headDim(), groups = s.nGroups(), n = s.stateSize(), q = s.chunk(), nc = s.chunks(len);
        int perHead = batch * len * heads, chunkHeads = batch * nc * heads;
        float[] w = new float[perHead], gw = new float[perHead];
        double[] l = new double[perHead], dl = new double[perHead], dw = new double[perHead], dqq = new double[perHead];
        float[] carries = new float[chunkHeads * p * n];
        float[] partA = new float[chunkHeads], partD = new float[chunkHeads], partBias = new float[chunkHeads];
        timeSteps(w, l, gw, dt, dtBias, a, batch, len, heads, q, s.dtMin(), s.dtMax());
        outerSum(true, carries, dOut, C, null, l, batch, len, heads, p, groups, n, q);
        carryPass(carries, l, batch, len, heads, p * n, q);
        backwardRows(dC, dl, dOut, x, B, C, chunkStates, w, l, batch, len, heads, p, groups, n, q);
        backwardCols(dx, dB, dl, dw, dqq, dOut, x, B, C, D, carries, w, l, batch, len, heads, p, groups, n, q);
        backwardFinish(dDt, partA, partD, partBias, dl, dw, dqq, dOut, x, chunkStates, carries, w, gw, l, a, batch, len, heads, p, n, q);
        columnSums(dA, partA, null, batch * nc, heads);
        columnSums(dD, partD, null, batch * nc, heads);
        columnSums(dDtBias, partBias, null, batch * nc, heads);
    }

    /** CudaSsd.gatedRmsNormBackward. */
    static void normBackward(float[] dx, float[] dz, float[] dWeight, float[] dOut, float[] x, float[] z, float[] w, int rows,
                             int width, int gs, float eps) {
        float[] gn = new float[rows * width];
        gatedRmsNormBackward(dx, dz, gn, dOut, x, z, w, rows, width, gs, eps);
        columnSums(dWeight, dOut, gn, rows, width);
    }
}
