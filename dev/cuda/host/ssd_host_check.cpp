// Runs ssd.cu's kernels on the host (cuda_host.h: a block's threads are real threads meeting at
// barriers) in CudaSsd's launch order and checks them against a float64 recurrence written from the
// definition: the forward from a carried state and from zero keeping the chunk states, one token at a
// time through ssd_step, the backward (accumulating into gradients that start at 1) against central
// finite differences of the recurrence, and the gated RMSNorm both ways. Build and run:
// scripts/ssd-host-check.sh. Exit status 1 if any check fails.
#include "cuda_host.h"
#include "ssd_host.cu"

#include <random>
#include <string>

static int failures = 0;

struct Case {
    int batch, len, heads, P, groups, N, Q;
    float dtMin, dtMax;
    int nc() const { return (len + Q - 1) / Q; }
    int di() const { return heads * P; }
    int gn() const { return groups * N; }
    int rows() const { return batch * len; }
    int stateSize() const { return heads * P * N; }
};

struct Inputs {
    std::vector<double> x, dt, bias, A, B, C, D;
};

static std::vector<double> gauss(std::mt19937_64& r, size_t n, double scale) {
    std::normal_distribution<double> nd(0, 1);
    std::vector<double> v(n);
    for (auto& e : v) e = (float)(scale * nd(r));
    return v;
}

static Inputs inputs(const Case& k, unsigned seed) {
    std::mt19937_64 r(seed);
    Inputs in;
    in.x = gauss(r, (size_t)k.rows() * k.di(), 1);
    in.dt = gauss(r, (size_t)k.rows() * k.heads, 1);
    in.bias = gauss(r, k.heads, 0.5);
    in.A = gauss(r, k.heads, 0.5);
    for (auto& a : in.A) a = (float)-std::exp(a);
    in.B = gauss(r, (size_t)k.rows() * k.gn(), 1);
    in.C = gauss(r, (size_t)k.rows() * k.gn(), 1);
    in.D = gauss(r, k.heads, 1);
    return in;
}

static std::vector<float> f(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// the recurrence in float64; kept (if not null) receives the state entering every chunk
static std::vector<double> naive(const Case& k, const Inputs& in, const std::vector<double>* initial, std::vector<double>* fin,
                                 std::vector<double>* kept) {
    int P = k.P, N = k.N, di = k.di(), gn = k.gn(), nc = k.nc();
    std::vector<double> y((size_t)k.rows() * di);
    for (int s = 0; s < k.batch; s++)
        for (int h = 0; h < k.heads; h++) {
            int g = h / (k.heads / k.groups);
            std::vector<double> st(P * N, 0.0);
            if (initial) std::copy(initial->begin() + (size_t)(s * k.heads + h) * P * N, initial->begin() + (size_t)(s * k.heads + h + 1) * P * N, st.begin());
            for (int t = 0; t < k.len; t++) {
                if (kept && t % k.Q == 0) std::copy(st.begin(), st.end(), kept->begin() + ((size_t)(s * nc + t / k.Q) * k.heads + h) * P * N);
                int row = s * k.len + t;
                double pre = in.dt[(size_t)row * k.heads + h] + in.bias[h];
                double sp = pre > 20 ? pre : std::log1p(std::exp(pre));
                double w = std::min(std::max(sp, (double)k.dtMin), (double)k.dtMax);
                double decay = std::exp(w * in.A[h]);
                for (int i = 0; i < P; i++) {
                    double xi = in.x[(size_t)row * di + h * P + i], acc = in.D[h] * xi;
                    for (int j = 0; j < N; j++) {
                        st[i * N + j] = decay * st[i * N + j] + w * xi * in.B[(size_t)row * gn + g * N + j];
                        acc += st[i * N + j] * in.C[(size_t)row * gn + g * N + j];
                    }
                    y[(size_t)row * di + h * P + i] = acc;
                }
            }
            if (fin) std::copy(st.begin(), st.end(), fin->begin() + (size_t)(s * k.heads + h) * P * N);
        }
    return y;
}

static void check(const std::string& what, const std::vector<float>& ours, const std::vector<double>& ref, double tol) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        double d = ours[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    double err = den == 0 ? std::sqrt(num) : std::sqrt(num / den);
    bool ok = err < tol;  // false for NaN too
    if (!ok) failures++;
    std::printf("%s %-60s rel.err %.3e (tolerance %.0e)\n", ok ? "ok  " : "FAIL", what.c_str(), err, tol);
}

// ---- CudaSsd's launch order, as SsdKernels launches them

// the way of multiplying under test: which of a product kernel's three entries (ssd.cu's SSD_ENTRIES) runs
static int g_mode = SSD_FP32;
#define SSD_MODE_CALL(NAME, ...) \
    (g_mode == SSD_FP32 ? NAME(__VA_ARGS__) : g_mode == SSD_TF32X3 ? NAME##_tf32x3(__VA_ARGS__) : NAME##_tf32(__VA_ARGS__))

static int tiles(int n) { return (n + SSD_T - 1) / SSD_T; }
// ssd_chunk_state's and ssd_carry_local's grid rows and dynamic shared memory, as SsdKernels sizes them
static int stateTiles(int P, int N) { return tiles(P) * ((N + SSD_STATE_TN - 1) / SSD_STATE_TN); }
static size_t stateShared(int Q) { return SSD_STATE_SHARED + (size_t)(Q + SSD_STATE_TK - 1) / SSD_STATE_TK * SSD_STATE_TK * 4; }

static void timeSteps(float* w, double* l, float* gw, const float* dt, const float* bias, const float* A, int batch, int len,
                      int heads, int Q, float dtMin, float dtMax) {
    host_launch((unsigned)((long long)batch * ((len + Q - 1) / Q) * heads), 1, SSD_THREADS, 0,
                [&] { ssd_time_steps(w, l, gw, dt, bias, A, batch, len, heads, Q, dtMin, dtMax); });
}

// the chunk's Gram matrices C B^T, lower tiles
static std::vector<float> gram(const Case& k, const float* B, const float* C, int len) {
    int nc = (len + k.Q - 1) / k.Q, T = tiles(k.Q);
    std::vector<float> G((size_t)k.batch * nc * k.groups * k.Q * k.Q, NAN);
    host_launch(k.batch * nc * k.groups, T * (T + 1) / 2, SSD_THREADS, 0, [&] { SSD_MODE_CALL(ssd_gram, G.data(), B, C, len, k.groups, k.N, k.Q); });
    return G;
}

static void scan(const Case& k, std::vector<float>& y, const std::vector<float>& x, const std::vector<float>& dt,
                 const std::vector<float>& bias, const std::vector<float>& A, const std::vector<float>& B, const std::vector<float>& C,
                 const std::vector<float>& D, float* ssmState, float* chunkStates, int len) {
    int heads = k.heads, P = k.P, G = k.groups, N = k.N, Q = k.Q, nc = (len + Q - 1) / Q, batch = k.batch;
    if (len == 1 && !chunkStates) {
        host_launch(batch * heads, 1, std::min(SSD_THREADS, (P + 31) / 32 * 32), 0, [&] {
            ssd_step(y.data(), ssmState, x.data(), dt.data(), bias.data(), A.data(), B.data(), C.data(), D.data(), heads, P, G, N,
                     k.dtMin, k.dtMax);
        });
        return;
    }
    long long rows = (long long)batch * len;
    std::vector<float> w(rows * heads);
    std::vector<double> l(rows * heads);
    timeSteps(w.data(), l.data(), nullptr, dt.data(), bias.data(), A.data(), batch, len, heads, Q, k.dtMin, k.dtMax);
    std::vector<float> scratch;
    float* states = nullptr;
    if (nc > 1 || ssmState || chunkStates) {
        if (!chunkStates) scratch.assign((size_t)batch * nc * heads * P * N, NAN);
        states = chunkStates ? chunkStates : scratch.data();
        host_launch(batch * nc * heads, stateTiles(P, N), SSD_THREADS, stateShared(Q), [&] {
            SSD_MODE_CALL(ssd_chunk_state, states, x.data(), B.data(), w.data(), l.data(), len, heads, P, G, N, Q);
        });
        host_launch1d((long long)batch * heads * P * N, [&] { ssd_state_pass(states, ssmState, l.data(), batch, len, heads, P * N, Q); });
    }
    std::vector<float> gr = gram(k, B.data(), C.data(), len);
    host_launch(batch * nc * heads, tiles(Q) * tiles(P), SSD_THREADS, Q * 16, [&] {
        SSD_MODE_CALL(ssd_chunk_output, y.data(), x.data(), C.data(), D.data(), gr.data(), states, w.data(), l.data(), len, heads, P, G, N, Q);
    });
}

struct Grads {
    std::vector<float> x, dt, bias, A, B, C, D;
};

static void backward(const Case& k, Grads& g, const std::vector<float>& dy, const Inputs& in, const std::vector<float>& kept) {
    int heads = k.heads, P = k.P, G = k.groups, N = k.N, Q = k.Q, nc = k.nc(), batch = k.batch, len = k.len, T = tiles(Q);
    auto x = f(in.x), dt = f(in.dt), bias = f(in.bias), A = f(in.A), B = f(in.B), C = f(in.C), D = f(in.D);
    long long perHead = (long long)batch * len * heads, chunkHeads = (long long)batch * nc * heads;
    int slots = 3 * T + 2 * tiles(N) + 2 * tiles(P);
    std::vector<float> w(perHead), gw(perHead), carries(chunkHeads * P * N), partA(chunkHeads), partD(chunkHeads), partBias(chunkHeads);
    std::vector<double> l(perHead), parts(perHead * slots, NAN);
    std::vector<float> dG((size_t)batch * nc * G * Q * Q, NAN);
    timeSteps(w.data(), l.data(), gw.data(), dt.data(), bias.data(), A.data(), batch, len, heads, Q, k.dtMin, k.dtMax);
    host_launch(chunkHeads, stateTiles(P, N), SSD_THREADS, stateShared(Q),
                [&] { SSD_MODE_CALL(ssd_carry_local, carries.data(), dy.data(), C.data(), l.data(), len, heads, P, G, N, Q); });
    std::vector<double> held(chunkHeads * ((P * N + 31) / 32), NAN);
    host_launch(batch * heads, (P * N + SSD_THREADS - 1) / SSD_THREADS, SSD_THREADS, 0,
                [&] { ssd_carry_pass(carries.data(), held.data(), kept.data(), l.data(), batch, len, heads, P * N, Q); });
    std::vector<float> gr = gram(k, B.data(), C.data(), len);
    host_launch(batch * nc * G, T * (T + 1) / 2, SSD_THREADS, 0, [&] {
        SSD_MODE_CALL(ssd_bwd_dcb, dG.data(), parts.data(), dy.data(), x.data(), gr.data(), w.data(), l.data(), len, heads, P, G, N, Q);
    });
    host_launch(batch * nc * G, T * tiles(N), SSD_THREADS, 0, [&] {
        SSD_MODE_CALL(ssd_bwd_dc, g.C.data(), parts.data(), dy.data(), B.data(), C.data(), dG.data(), kept.data(), l.data(), len, heads, P, G, N, Q);
    });
    host_launch(batch * nc * G, T * tiles(N), SSD_THREADS, heads / G * SSD_T * 4, [&] {
        SSD_MODE_CALL(ssd_bwd_db, g.B.data(), x.data(), C.data(), dG.data(), carries.data(), w.data(), l.data(), len, heads, P, G, N, Q);
    });
    // overwrite (as after a deferred zero fill): dx written, never read
    std::vector<float> dxZero(g.x.size(), NAN), dxStart(g.x);
    host_launch(chunkHeads, T * tiles(P), SSD_THREADS, Q * 16, [&] {
        SSD_MODE_CALL(ssd_bwd_dx, dxZero.data(), parts.data(), dy.data(), x.data(), B.data(), D.data(), gr.data(), carries.data(), w.data(),
                   l.data(), len, heads, P, G, N, Q, 1);
    });
    host_launch(chunkHeads, T * tiles(P), SSD_THREADS, Q * 16, [&] {
        SSD_MODE_CALL(ssd_bwd_dx, g.x.data(), parts.data(), dy.data(), x.data(), B.data(), D.data(), gr.data(), carries.data(), w.data(), l.data(), len,
                   heads, P, G, N, Q, 0);
    });
    for (size_t i = 0; i < g.x.size(); i++)
        if (!(dxZero[i] + dxStart[i] == g.x[i])) {
            std::printf("FAIL ssd_bwd_dx overwrite: element %zu is %g, accumulating gave %g from %g\n", i, dxZero[i], g.x[i], dxStart[i]);
            failures++;
            break;
        }
    host_launch(chunkHeads, 1, SSD_THREADS, Q * 16, [&] {
        ssd_bwd_finish(g.dt.data(), partA.data(), partD.data(), partBias.data(), parts.data(), held.data(), w.data(), gw.data(),
                       l.data(), A.data(), len, heads, P, N, Q);
    });
    for (int h = 0; h < heads; h++)  // ReductionKernels.columnSums over (batch * chunks, heads)
        for (int r = 0; r < batch * nc; r++) {
            g.A[h] += partA[r * heads + h];
            g.D[h] += partD[r * heads + h];
            g.bias[h] += partBias[r * heads + h];
        }
}

static double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
    return s;
}

static void runCase(const Case& k, double fwd, double grad) {
    char name[160];
    std::snprintf(name, sizeof name, "%dx%d, %d heads of %d, %d groups, state %d, chunk %d", k.batch, k.len, k.heads, k.P, k.groups,
                  k.N, k.Q);
    std::string s = std::string(name) + (g_mode == SSD_TF32X3 ? ", 3xTF32" : g_mode == SSD_TF32 ? ", TF32" : "");
    Inputs in = inputs(k, 7);
    std::mt19937_64 r(3);
    std::vector<double> initial = gauss(r, (size_t)k.batch * k.stateSize(), 1), fin((size_t)k.batch * k.stateSize()),
                        kept((size_t)k.batch * k.nc() * k.stateSize());
    auto x = f(in.x), dt = f(in.dt), bias = f(in.bias), A = f(in.A), B = f(in.B), C = f(in.C), D = f(in.D);
    // from a carried state
    std::vector<double> ref = naive(k, in, &initial, &fin, nullptr);
    std::vector<float> y((size_t)k.rows() * k.di(), NAN), state = f(initial);
    scan(k, y, x, dt, bias, A, B, C, D, state.data(), nullptr, k.len);
    check("y from a state, " + s, y, ref, fwd);
    check("final state, " + s, state, fin, fwd);
    // from zero keeping the chunk states; from zero keeping nothing
    ref = naive(k, in, nullptr, nullptr, &kept);
    std::vector<float> keptOurs(kept.size(), NAN);
    scan(k, y, x, dt, bias, A, B, C, D, nullptr, keptOurs.data(), k.len);
    check("y from zero, training, " + s, y, ref, fwd);
    check("chunk states, " + s, keptOurs, kept, fwd);
    std::fill(y.begin(), y.end(), NAN);
    scan(k, y, x, dt, bias, A, B, C, D, nullptr, nullptr, k.len);
    check("y from zero, nothing kept, " + s, y, ref, fwd);
    // one token at a time through ssd_step
    std::vector<float> stepped(y.size()), st((size_t)k.batch * k.stateSize(), 0.f);
    for (int pos = 0; pos < k.len; pos++) {
        auto at = [&](const std::vector<float>& m) {
            int width = (int)(m.size() / k.rows());
            std::vector<float> o((size_t)k.batch * width);
            for (int b = 0; b < k.batch; b++) std::copy_n(m.begin() + (size_t)(b * k.len + pos) * width, width, o.begin() + (size_t)b * width);
            return o;
        };
        std::vector<float> yo((size_t)k.batch * k.di(), NAN);
        scan(k, yo, at(x), at(dt), bias, A, at(B), at(C), D, st.data(), nullptr, 1);
        for (int b = 0; b < k.batch; b++) std::copy_n(yo.begin() + (size_t)b * k.di(), k.di(), stepped.begin() + (size_t)(b * k.len + pos) * k.di());
    }
    check("steps through ssd_step, " + s, stepped, ref, fwd);
    // backward against finite differences; every gradient starts at 1
    std::vector<double> gy = gauss(r, y.size(), 1);
    Grads g{std::vector<float>(x.size(), 1.f), std::vector<float>(dt.size(), 1.f), std::vector<float>(bias.size(), 1.f),
            std::vector<float>(A.size(), 1.f), std::vector<float>(B.size(), 1.f), std::vector<float>(C.size(), 1.f),
            std::vector<float>(D.size(), 1.f)};
    backward(k, g, f(gy), in, f(kept));
    std::vector<std::pair<std::string, std::pair<std::vector<double> Inputs::*, std::vector<float>*>>> all = {
        {"x", {&Inputs::x, &g.x}}, {"dt", {&Inputs::dt, &g.dt}}, {"dt_bias", {&Inputs::bias, &g.bias}}, {"A", {&Inputs::A, &g.A}},
        {"B", {&Inputs::B, &g.B}}, {"C", {&Inputs::C, &g.C}}, {"D", {&Inputs::D, &g.D}}};
    for (auto& [nm, p] : all) {
        std::vector<double> an(p.second->begin(), p.second->end());
        for (auto& v : an) v -= 1;
        std::vector<double> v = gauss(r, an.size(), 1);
        double eps = 1e-5;
        Inputs plus = in, minus = in;
        for (size_t i = 0; i < v.size(); i++) {
            (plus.*(p.first))[i] += eps * v[i];
            (minus.*(p.first))[i] -= eps * v[i];
        }
        double fd = (dot(naive(k, plus, nullptr, nullptr, nullptr), gy) - dot(naive(k, minus, nullptr, nullptr, nullptr), gy)) / (2 * eps);
        double a = dot(an, v), scale = std::max(std::fabs(fd), std::sqrt(dot(an, an)));
        double err = std::fabs(fd - a) / std::max(1e-9, scale);
        bool ok = err < grad;
        if (!ok) failures++;
        std::printf("%s %-60s rel.err %.3e (tolerance %.0e; analytic %.6g, finite difference %.6g)\n", ok ? "ok  " : "FAIL",
                    ("d" + nm + ", " + s).c_str(), err, grad, a, fd);
    }
}

static void normCase(int rows, int width, int gs) {
    std::mt19937_64 r(rows * 31 + width);
    std::vector<double> x = gauss(r, (size_t)rows * width, 1), z = gauss(r, (size_t)rows * width, 2), w = gauss(r, width, 1),
                        dOut = gauss(r, (size_t)rows * width, 1);
    float eps = 1e-5f;
    auto ref = [&](const std::vector<double>& xx, const std::vector<double>& zz, const std::vector<double>& ww) {
        std::vector<double> o(xx.size());
        for (int row = 0; row < rows; row++)
            for (int g0 = 0; g0 < width; g0 += gs) {
                double ss = 0;
                for (int i = 0; i < gs; i++) {
                    size_t at = (size_t)row * width + g0 + i;
                    double v = xx[at] * zz[at] / (1 + std::exp(-zz[at]));
                    ss += v * v;
                }
                double inv = 1 / std::sqrt(ss / gs + eps);
                for (int i = 0; i < gs; i++) {
                    size_t at = (size_t)row * width + g0 + i;
                    o[at] = ww[g0 + i] * xx[at] * zz[at] / (1 + std::exp(-zz[at])) * inv;
                }
            }
        return o;
    };
    std::vector<float> out((size_t)rows * width, NAN), xf = f(x), zf = f(z), wf = f(w), dof = f(dOut);
    host_launch(rows, width / gs, SSD_NORM_THREADS, 0, [&] { gated_rms_norm(out.data(), nullptr, xf.data(), zf.data(), wf.data(), width, gs, eps); });
    std::string s = std::to_string(rows) + "x" + std::to_string(width) + " groups of " + std::to_string(gs);
    check("gated norm, " + s, out, ref(x, z, w), 1e-5);
    int slabs = (rows + SSD_NORM_ROWS - 1) / SSD_NORM_ROWS;
    std::vector<float> dx(xf.size(), 1.f), dz(xf.size(), 1.f), part((size_t)slabs * width, NAN), dw(width, 1.f);
    auto backward = gs <= 3 * 4 * SSD_NORM_THREADS ? gated_rms_norm_backward_q3 : gated_rms_norm_backward;  // SsdKernels' pick
    host_launch(slabs, width / gs, SSD_NORM_THREADS, 0, [&] {
        backward(dx.data(), dz.data(), part.data(), dof.data(), xf.data(), zf.data(), wf.data(), rows, width, gs, eps, 0);
    });
    for (int j = 0; j < width; j++)  // ReductionKernels.columnSums over the slabs
        for (int slab = 0; slab < slabs; slab++) dw[j] += part[(size_t)slab * width + j];
    // overwrite (a deferred zero fill's first writer): dx and dz are written, never read (NaN here)
    std::vector<float> dx0(xf.size(), NAN), dz0(xf.size(), NAN), part0((size_t)slabs * width, NAN);
    host_launch(slabs, width / gs, SSD_NORM_THREADS, 0, [&] {
        backward(dx0.data(), dz0.data(), part0.data(), dof.data(), xf.data(), zf.data(), wf.data(), rows, width, gs, eps, 3);
    });
    std::vector<float> dxAdded(dx), dzAdded(dz);
    for (auto& v : dxAdded) v -= 1;
    for (auto& v : dzAdded) v -= 1;
    check("gated norm overwritten dx, " + s, dx0, std::vector<double>(dxAdded.begin(), dxAdded.end()), 1e-5);
    check("gated norm overwritten dz, " + s, dz0, std::vector<double>(dzAdded.begin(), dzAdded.end()), 1e-5);
    std::vector<std::pair<std::string, int>> which = {{"dx", 0}, {"dz", 1}, {"dweight", 2}};
    for (auto& [nm, idx] : which) {
        std::vector<float>& an32 = idx == 0 ? dx : idx == 1 ? dz : dw;
        std::vector<double> an(an32.begin(), an32.end());
        for (auto& v : an) v -= 1;
        std::vector<double> v = gauss(r, an.size(), 1), xp = x, xm = x, zp = z, zm = z, wp = w, wm = w;
        std::vector<double>& p = idx == 0 ? xp : idx == 1 ? zp : wp;
        std::vector<double>& m = idx == 0 ? xm : idx == 1 ? zm : wm;
        double h = 1e-5;
        for (size_t i = 0; i < v.size(); i++) {
            p[i] += h * v[i];
            m[i] -= h * v[i];
        }
        double fd = (dot(ref(xp, zp, wp), dOut) - dot(ref(xm, zm, wm), dOut)) / (2 * h);
        double a = dot(an, v), err = std::fabs(fd - a) / std::max(1e-9, std::max(std::fabs(fd), std::sqrt(dot(an, an))));
        bool ok = err < 1e-4;
        if (!ok) failures++;
        std::printf("%s %-60s rel.err %.3e (tolerance 1e-04)\n", ok ? "ok  " : "FAIL", ("gated norm " + nm + ", " + s).c_str(), err);
    }
}

int main() {
    float inf = INFINITY;
    std::vector<Case> cases = {
        {2, 37, 4, 16, 1, 16, 8, 0.f, inf},   // the tiny-mamba2 fixture's shape
        {1, 1, 3, 5, 3, 7, 8, 0.f, inf},      // L = 1, one head per group
        {3, 29, 6, 3, 2, 5, 4, 0.f, inf},     // several groups, odd widths
        {1, 23, 2, 17, 1, 33, 32, 0.f, inf},  // one partial chunk ending inside the second output tile
        {2, 19, 4, 4, 4, 4, 5, 0.3f, 1.2f},   // time_step_limit clamps dt at both ends
        {2, 20, 2, 4, 1, 3, 1, 0.f, inf},     // chunks of one step
        {1, 70, 2, 64, 1, 32, 64, 0.f, inf},  // 64-channel heads, a partial second chunk
        {1, 150, 2, 70, 1, 66, 128, 0.f, inf}, // two tiles of every kind (t, s, channels, states), a partial one each
        {1, 40, 2, 68, 1, 132, 32, 0.f, inf},  // quads only: chunk_state's and carry_local's cp.async path, partial tiles
    };
    for (const Case& k : cases) runCase(k, 1e-5, 1e-4);
    // the tensor-core entries differ from the fp32 ones inside ssd_mm (the loaders, masks and tile edges
    // are shared) and in chunk_state's and carry_local's cp.async path (widths of whole 16-byte quads),
    // so six cases cover them: the fixture's shape, L = 1, odd widths with several groups, 64-channel
    // heads (whole slices: the backward's products segmented by head), two partial tiles of every kind,
    // odd and in quads. 3xTF32 holds fp32's tolerances; one TF32 product (10
    // bits of mantissa) the bf16 precision's (measured: forward <= 5.0e-4, gradients <= 1.3e-3)
    for (int mode : {SSD_TF32X3, SSD_TF32}) {
        g_mode = mode;
        for (int i : {0, 1, 2, 6, 7, 8}) runCase(cases[i], mode == SSD_TF32 ? 5e-3 : 1e-5, mode == SSD_TF32 ? 1e-2 : 1e-4);
    }
    g_mode = SSD_FP32;
    normCase(1, 4, 4);
    normCase(5, 48, 16);
    normCase(3, 300, 300);
    normCase(2, 30, 15);       // groups not a multiple of 4: element by element
    normCase(2, 1536, 1536);   // 130m-mamba2's group: 12 values a thread in registers
    normCase(2, 2100, 2100);   // past what the registers hold: element by element
    normCase(19, 1536, 768);   // slabs of rows (the last one short), two groups, by float4
    normCase(9, 1800, 1800);   // past 3 quads a thread: the entry with 4
    normCase(11, 30, 15);      // slabs of rows, element by element
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
