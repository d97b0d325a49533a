// Runs reduce.cu's cross_entropy on the host (cuda_host.h) and checks dLogits and the per-row loss
// against float64: float4 rows and scalar ones (a length not a multiple of 4, rows off 16-byte
// alignment), the thread counts ReductionKernels.crossEntropyThreads picks, ignored rows, logits
// large enough that an unshifted exp would overflow. Then rms_norm_backward's dx (added to what dx
// held) and its weight-gradient partials (added over the slabs as column_sums does) against float64,
// rows held in registers and wider ones. Build and run: scripts/kernel-host-check.sh reduce.
// Exit status 1 if any check fails.
#include "cuda_host.h"
#include "reduce.cu"

#include <random>
#include <string>

static int failures = 0;

static void check(const std::string& what, double err, double tol) {
    bool ok = err < tol && std::isfinite(err);
    if (!ok) failures++;
    std::printf("%-4s %-64s rel.err %.2e\n", ok ? "ok" : "FAIL", what.c_str(), err);
}

// ReductionKernels.crossEntropyThreads
static unsigned threadsFor(int v) {
    int warps = std::max(1, std::min(CE_THREADS / 32, (v + 16 * 32 - 1) / (16 * 32)));
    return 32u * warps;
}

static void crossEntropy(int rows, int v, int misalign, double spread, unsigned seed) {
    std::mt19937_64 r(seed);
    std::normal_distribution<double> nd(0, 1);
    std::vector<float> store((size_t)rows * v + 8), dstore((size_t)rows * v + 8, NAN);
    float* logits = store.data() + misalign;
    float* d = dstore.data() + misalign;
    for (size_t i = 0; i < (size_t)rows * v; i++) logits[i] = (float)(spread * nd(r));
    std::vector<int> targets(rows);
    const int ignore = -100;
    for (int i = 0; i < rows; i++) targets[i] = i % 5 == 3 ? ignore : (int)(r() % v);
    std::vector<double> loss(rows, NAN);
    float scale = 0.37f;
    host_launch(rows, 1, threadsFor(v), 0, [&] { cross_entropy(logits, targets.data(), ignore, d, nullptr, scale, loss.data(), v); });
    double num = 0, den = 0, lnum = 0, lden = 0;
    for (int i = 0; i < rows; i++) {
        const float* row = logits + (size_t)i * v;
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < v; j++) mx = std::max(mx, (double)row[j]);
        for (int j = 0; j < v; j++) s += std::exp(row[j] - mx);
        double logZ = mx + std::log(s);
        bool ignored = targets[i] == ignore;
        for (int j = 0; j < v; j++) {
            double want = ignored ? 0.0 : scale * std::exp(row[j] - logZ) - (j == targets[i] ? scale : 0.0);
            double got = d[(size_t)i * v + j];
            num += (got - want) * (got - want);
            den += want * want;
        }
        double wantLoss = ignored ? 0.0 : logZ - row[targets[i]];
        lnum += (loss[i] - wantLoss) * (loss[i] - wantLoss);
        lden += wantLoss * wantLoss;
    }
    char name[160];
    std::snprintf(name, sizeof name, "cross_entropy rows %d v %d misalign %d spread %.0f threads %u", rows, v, misalign, spread, threadsFor(v));
    // exp(l - logZ) in float: logZ's rounding (|logZ| eps, ~1e-5 at logits of 200) is the exponent's
    // error, whichever kernel computes it, so wide logits get a tolerance that scales with them
    check(std::string(name) + " dLogits", std::sqrt(num / std::max(den, 1e-300)), spread > 10 ? 2e-5 : 1e-6);
    check(std::string(name) + " loss", std::sqrt(lnum / std::max(lden, 1e-300)), 1e-6);
}

// ReductionKernels.rmsNormBackward with ROW_THREADS (256) threads a block
static void rmsNormBackward(int rows, int h, unsigned seed) {
    std::mt19937_64 r(seed);
    std::normal_distribution<double> nd(0, 1);
    std::vector<float> x((size_t)rows * h), dy((size_t)rows * h), w(h), dx((size_t)rows * h);
    for (auto& v : x) v = (float)nd(r);
    for (auto& v : dy) v = (float)nd(r);
    for (auto& v : w) v = (float)(1 + 0.3 * nd(r));
    for (auto& v : dx) v = (float)nd(r);
    std::vector<float> dx0(dx);
    const float eps = 1e-5f;
    int slabs = (rows + RMS_BACKWARD_ROWS - 1) / RMS_BACKWARD_ROWS;
    std::vector<float> part((size_t)slabs * h, NAN);
    host_launch(slabs, 1, 256, 0, [&] { rms_norm_backward(dx.data(), nullptr, part.data(), dy.data(), x.data(), w.data(), rows, h, eps); });
    double num = 0, den = 0, wnum = 0, wden = 0;
    std::vector<double> dw(h, 0.0);
    for (int row = 0; row < rows; row++) {
        const float* xr = x.data() + (size_t)row * h;
        const float* gr = dy.data() + (size_t)row * h;
        double ss = 0, dot = 0;
        for (int i = 0; i < h; i++) {
            ss += (double)xr[i] * xr[i];
            dot += (double)w[i] * gr[i] * xr[i];
        }
        double inv = 1 / std::sqrt(ss / h + eps), coef = inv * inv * inv * dot / h;
        for (int i = 0; i < h; i++) {
            size_t at = (size_t)row * h + i;
            double want = dx0[at] + inv * w[i] * gr[i] - coef * xr[i];
            num += (dx[at] - want) * (dx[at] - want);
            den += want * want;
            dw[i] += gr[i] * xr[i] * inv;
        }
    }
    for (int i = 0; i < h; i++) {
        double got = 0;
        for (int s = 0; s < slabs; s++) got += part[(size_t)s * h + i];
        wnum += (got - dw[i]) * (got - dw[i]);
        wden += dw[i] * dw[i];
    }
    std::string name = "rms_norm_backward rows " + std::to_string(rows) + " h " + std::to_string(h);
    check(name + " dx", std::sqrt(num / den), 1e-6);
    check(name + " dweight", std::sqrt(wnum / wden), 1e-6);
}

int main() {
    crossEntropy(7, 16, 0, 3, 1);        // DNA vocabulary: one warp, float4
    crossEntropy(7, 16, 1, 3, 2);        // off 16-byte alignment: scalar
    crossEntropy(6, 50, 0, 3, 3);        // not a multiple of 4
    crossEntropy(5, 256, 0, 40, 4);      // mu-law codes; exp(40 sigma) overflows unshifted
    crossEntropy(5, 1001, 0, 3, 5);
    crossEntropy(3, 50280, 0, 3, 6);     // GPT-NeoX vocabulary: 1024 threads
    crossEntropy(3, 50280, 2, 3, 7);
    crossEntropy(2, 50277, 0, 80, 8);
    rmsNormBackward(19, 768, 9);         // 130M's width: three features a thread in registers; the last slab short
    rmsNormBackward(8, 64, 10);          // narrower than the block
    rmsNormBackward(11, 2560, 11);       // wider than the registers hold: partials kept in place
    std::printf("%s\n", failures == 0 ? "reduce host check: all passed" : "reduce host check: FAILURES");
    return failures == 0 ? 0 : 1;
}
