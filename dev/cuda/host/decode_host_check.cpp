// Runs decode.cu's kernels on the host (cuda_host.h) in CudaDecoder's order for one Mamba-1 layer and
// the LM head, and checks them against the step written from the definition in float64: RMSNorm,
// in_proj, the conv window with SiLU, x_proj, dt_proj + softplus, the state update, D skip, gate,
// out_proj into the residual. Shapes with and without float4 rows, every threads-per-row the
// launcher picks, one to DECODE_MAX_BATCH sequences, and the GEMM path's kernels (decode_conv,
// decode_gemv over chunks of sequences, decode_scan at 4 and 16 lanes a channel). Build and run:
// scripts/kernel-host-check.sh decode. Exit status 1 if any check fails.
#include "cuda_host.h"
#include "decode.cu"

#include <random>
#include <string>

static int failures = 0;

static void check(const std::string& what, const std::vector<float>& got, const std::vector<double>& want, double tol) {
    double num = 0, den = 0;
    for (size_t i = 0; i < want.size(); i++) {
        num += (got[i] - want[i]) * (got[i] - want[i]);
        den += want[i] * want[i];
    }
    double err = std::sqrt(num / std::max(den, 1e-300));
    bool ok = err < tol && std::isfinite(err);
    if (!ok) failures++;
    std::printf("%-4s %-60s rel.err %.2e\n", ok ? "ok" : "FAIL", what.c_str(), err);
}

static std::vector<float> randv(std::mt19937_64& r, size_t n, double scale) {
    std::normal_distribution<double> nd(0, 1);
    std::vector<float> v(n);
    for (auto& e : v) e = (float)(scale * nd(r));
    return v;
}

static std::vector<double> d(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// DecodeKernels.threadsPerRow with 132 multiprocessors
static int tprFor(int rows, int k) {
    int tpr = 32;
    long long want = 132LL * 16 * 32;
    while (tpr < DECODE_THREADS && (long long)rows * tpr < want && tpr * 8LL <= k) tpr *= 2;
    return tpr;
}

static unsigned blocksFor(int rows, int tpr) { return (rows + DECODE_THREADS / tpr - 1) / (DECODE_THREADS / tpr); }

static void layer(int H, int di, int n, int rank, int width, int batch, bool gemmPath, unsigned seed) {
    std::mt19937_64 r(seed);
    float eps = 1e-5f;
    int xr = rank + 2 * n;
    auto resid = randv(r, (size_t)batch * H, 1), normW = randv(r, H, 1);
    auto inW = randv(r, (size_t)2 * di * H, 1 / std::sqrt((double)H)), convW = randv(r, (size_t)di * width, 0.5),
         convB = randv(r, di, 0.5), state = randv(r, (size_t)batch * (width - 1) * di, 1),
         xW = randv(r, (size_t)xr * di, 1 / std::sqrt((double)di)), dtW = randv(r, (size_t)di * rank, 1 / std::sqrt((double)rank)),
         dtB = randv(r, di, 0.5), A = randv(r, (size_t)di * n, 0.5), D = randv(r, di, 1),
         h = randv(r, (size_t)batch * di * n, 1), outW = randv(r, (size_t)H * di, 1 / std::sqrt((double)di)),
         outB = randv(r, H, 0.1), lm = randv(r, (size_t)37 * H, 1 / std::sqrt((double)H));
    for (auto& a : A) a = -std::exp(a);
    // float64 reference
    std::vector<double> res = d(resid), st = d(state), hh = d(h), xcR((size_t)batch * di), logitsR((size_t)batch * 37);
    for (int b = 0; b < batch; b++) {
        double ss = 0;
        for (int k = 0; k < H; k++) ss += res[b * H + k] * res[b * H + k];
        double inv = 1 / std::sqrt(ss / H + eps);
        std::vector<double> nx(H), x(di), z(di), xc(di), dbc(xr), y(di);
        for (int k = 0; k < H; k++) nx[k] = normW[k] * res[b * H + k] * inv;
        for (int o = 0; o < 2 * di; o++) {
            double s = 0;
            for (int k = 0; k < H; k++) s += inW[(size_t)o * H + k] * nx[k];
            (o < di ? x[o] : z[o - di]) = s;
        }
        for (int c = 0; c < di; c++) {
            double s = convB[c];
            for (int j = 0; j < width - 1; j++) s += convW[c * width + j] * st[((size_t)b * (width - 1) + j) * di + c];
            s += convW[c * width + width - 1] * x[c];
            for (int j = 0; j + 1 < width - 1; j++) st[((size_t)b * (width - 1) + j) * di + c] = st[((size_t)b * (width - 1) + j + 1) * di + c];
            st[((size_t)b * (width - 1) + width - 2) * di + c] = x[c];
            xc[c] = s / (1 + std::exp(-s));
            xcR[(size_t)b * di + c] = xc[c];
        }
        for (int o = 0; o < xr; o++) {
            double s = 0;
            for (int k = 0; k < di; k++) s += xW[(size_t)o * di + k] * xc[k];
            dbc[o] = s;
        }
        for (int c = 0; c < di; c++) {
            double pre = dtB[c];
            for (int j = 0; j < rank; j++) pre += dtW[(size_t)c * rank + j] * dbc[j];
            double dt = std::log1p(std::exp(pre)), acc = 0;
            for (int s = 0; s < n; s++) {
                double& v = hh[((size_t)b * di + c) * n + s];
                v = std::exp(dt * A[c * n + s]) * v + dt * xc[c] * dbc[rank + s];
                acc += v * dbc[rank + n + s];
            }
            y[c] = (acc + D[c] * xc[c]) * (z[c] / (1 + std::exp(-z[c])));
        }
        for (int o = 0; o < H; o++) {
            double s = outB[o];
            for (int k = 0; k < di; k++) s += outW[(size_t)o * di + k] * y[k];
            res[b * H + o] += s;
        }
        ss = 0;
        for (int k = 0; k < H; k++) ss += res[b * H + k] * res[b * H + k];
        inv = 1 / std::sqrt(ss / H + eps);
        for (int o = 0; o < 37; o++) {
            double s = 0;
            for (int k = 0; k < H; k++) s += lm[(size_t)o * H + k] * normW[k] * res[b * H + k] * inv;
            logitsR[(size_t)b * 37 + o] = s;
        }
    }
    // the kernels, in CudaDecoder's order (aligned vectors so that float4 paths run where shapes allow)
    std::vector<float> xz((size_t)batch * 2 * di), xc((size_t)batch * di), dbc((size_t)batch * xr, 0.f), y((size_t)batch * di),
        logits((size_t)batch * 37);
    std::vector<double> dbcR((size_t)batch * xr);
    for (int b = 0; b < batch; b++)
        for (int o = 0; o < xr; o++) {
            double s = 0;
            for (int k = 0; k < di; k++) s += xW[(size_t)o * di + k] * xcR[(size_t)b * di + k];
            dbcR[(size_t)b * xr + o] = s;
        }
    std::string tag = "H " + std::to_string(H) + " di " + std::to_string(di) + " n " + std::to_string(n) + " rank " +
                      std::to_string(rank) + " width " + std::to_string(width) + " batch " + std::to_string(batch) +
                      (gemmPath ? " gemm" : "");
    unsigned chunks = (batch + DECODE_MAX_BATCH - 1) / DECODE_MAX_BATCH;
    int tpr;
    if (!gemmPath) {
        tpr = tprFor(2 * di, H);
        host_launch(blocksFor(2 * di, tpr), chunks, DECODE_THREADS, 0, [&] {
            decode_norm_gemv(xz.data(), xc.data(), resid.data(), normW.data(), eps, inW.data(), inW.data() + (size_t)di * H,
                             nullptr, nullptr, 2 * di, di, H, batch, tpr, convW.data(), convB.data(), state.data(), width,
                             xW.data(), xW.data() + (size_t)rank * di, xW.data() + (size_t)(rank + n) * di, rank, rank + n, xr,
                             dbc.data());
        });
    } else {  // in_proj by the reference (cuBLAS's part), the conv by decode_conv, x_proj by decode_gemv
        for (int b = 0; b < batch; b++) {
            double ss = 0;
            for (int k = 0; k < H; k++) ss += (double)resid[b * H + k] * resid[b * H + k];
            double inv = 1 / std::sqrt(ss / H + eps);
            for (int o = 0; o < 2 * di; o++) {
                double s = 0;
                for (int k = 0; k < H; k++) s += inW[(size_t)o * H + k] * normW[k] * resid[b * H + k] * inv;
                xz[(size_t)b * 2 * di + o] = (float)s;
            }
        }
        host_launch((batch * di + DECODE_THREADS - 1) / DECODE_THREADS, 1, DECODE_THREADS, 0, [&] {
            decode_conv(xc.data(), xz.data(), 2LL * di, convW.data(), convB.data(), state.data(), batch, di, width);
        });
        tpr = tprFor(xr, di);
        host_launch(blocksFor(xr, tpr), chunks, DECODE_THREADS, 0, [&] {
            decode_gemv(dbc.data(), xr, xc.data(), xW.data(), xW.data() + (size_t)rank * di, xW.data() + (size_t)(rank + n) * di,
                        rank, rank + n, nullptr, xr, di, batch, tpr, 0);
        });
    }
    check("conv + silu, " + tag, xc, xcR, 1e-5);
    check("conv window, " + tag, state, st, 1e-6);
    check("x_proj, " + tag, dbc, dbcR, 1e-5);
    if (!gemmPath) {
        host_launch((di + 15) / 16, 1, DECODE_THREADS, 0, [&] {
            decode_scan_out(resid.data(), H, outW.data(), outB.data(), xc.data(), xz.data() + di, 2LL * di, dbc.data(), xr,
                            dbc.data() + rank, xr, dbc.data() + rank + n, xr, dtW.data(), dtB.data(), A.data(), D.data(), h.data(),
                            batch, di, n, rank);
        });
        check("ssm state, " + tag, h, hh, 1e-5);
        check("residual after out_proj, " + tag, resid, res, 1e-5);
        tpr = tprFor(37, H);
        host_launch(blocksFor(37, tpr), chunks, DECODE_THREADS, 0, [&] {
            decode_norm_gemv(logits.data(), nullptr, resid.data(), normW.data(), eps, lm.data(), lm.data(), nullptr, nullptr, 37,
                             37, H, batch, tpr, nullptr, nullptr, nullptr, 0, nullptr, nullptr, nullptr, 0, 0, 0, nullptr);
        });
        check("norm + LM head, " + tag, logits, logitsR, 1e-5);
    } else {
        for (int lanes : {4, 16}) {
            std::vector<float> h2 = h;
            host_launch((unsigned)(((long long)batch * di * lanes + DECODE_THREADS - 1) / DECODE_THREADS), 1, DECODE_THREADS, 0, [&] {
                decode_scan(y.data(), xc.data(), xz.data() + di, 2LL * di, dbc.data(), xr, dbc.data() + rank, xr,
                            dbc.data() + rank + n, xr, dtW.data(), dtB.data(), A.data(), D.data(), h2.data(), batch, di, n, rank,
                            lanes);
            });
            check("ssm state, " + std::to_string(lanes) + " lanes, " + tag, h2, hh, 1e-5);
        }
    }
}

int main() {
    layer(64, 128, 16, 4, 4, 1, false, 1);     // float4 rows, 130M-like proportions
    layer(64, 128, 16, 4, 4, 3, false, 2);
    layer(48, 96, 8, 3, 4, 4, false, 3);       // rank 3: x_proj's B and C views start off 16 bytes
    layer(30, 62, 5, 3, 2, 2, false, 4);       // no float4 anywhere, n < lanes, width 2
    layer(64, 128, 16, 4, 4, 5, true, 5);      // the GEMM path: conv, x_proj in two chunks of sequences, scan
    layer(30, 62, 5, 3, 2, 7, true, 7);
    layer(1024, 64, 16, 4, 4, 1, false, 6);    // K large enough for several threads per row in x_proj's launch
    layer(30, 62, 5, 3, 6, 2, false, 8);       // a conv wider than the prefetched window
    layer(64, 128, 80, 4, 4, 2, false, 9);     // more states than a lane prefetches
    layer(64, 128, 80, 4, 4, 6, true, 10);
    std::printf("%s\n", failures ? "decode host check: FAILED" : "decode host check: all passed");
    return failures ? 1 : 0;
}
