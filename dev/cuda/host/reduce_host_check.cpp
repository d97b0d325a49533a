// Runs reduce.cu's cross_entropy on the host (cuda_host.h) and checks dLogits and the per-row loss
// against float64: float4 rows and scalar ones (a length not a multiple of 4, rows off 16-byte
// alignment), the thread counts ReductionKernels.crossEntropyThreads picks, ignored rows, logits
// large enough that an unshifted exp would overflow. Build and run: scripts/kernel-host-check.sh reduce.
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

int main() {
    crossEntropy(7, 16, 0, 3, 1);        // DNA vocabulary: one warp, float4
    crossEntropy(7, 16, 1, 3, 2);        // off 16-byte alignment: scalar
    crossEntropy(6, 50, 0, 3, 3);        // not a multiple of 4
    crossEntropy(5, 256, 0, 40, 4);      // mu-law codes; exp(40 sigma) overflows unshifted
    crossEntropy(5, 1001, 0, 3, 5);
    crossEntropy(3, 50280, 0, 3, 6);     // GPT-NeoX vocabulary: 1024 threads
    crossEntropy(3, 50280, 2, 3, 7);
    crossEntropy(2, 50277, 0, 80, 8);
    std::printf("%s\n", failures == 0 ? "reduce host check: all passed" : "reduce host check: FAILURES");
    return failures == 0 ? 0 : 1;
}
