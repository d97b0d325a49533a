#!/usr/bin/env python3
"""The Mamba-1 peer of ssmtk's ModelBench rows: ../shared/tools/anchors/bench_mamba_e2e.py run as it
is (its models, rows and timing untouched), with one change to how its selective_scan extension is
built: only the instantiations those rows call are compiled (fp32 and bf16 inputs, real A; forward
and backward), and the other eight (fp16 inputs, complex A) are link-time stand-ins that abort if
ever called. The full build took about 9 minutes on the device's 16 cores (more than a 10-minute
device call leaves for anything else); the benchmark's kernels are the same either way.

usage: mamba1_e2e.py ANCHOR_SCRIPT MAMBA_DIR CAUSAL_CONV1D_DIR OUT_JSON
E2E_ROWS=train,gen,long picks rows as in the anchor script; E2E_ROWS=none only builds. Stale build
locks (left by a build killed by a timeout, on which torch's load() would wait forever) are removed
first, as bench/peers/mamba2_e2e.py does (KEEP_LOCKS=1 skips that, for a build started beside
mamba2_e2e.py's, whose live lock it must not remove); causal-conv1d is built with the anchor's flags into
/tmp/ccbuild, so a build already made there by mamba2_e2e.py is reused.
"""
import os, runpy, sys
import torch.utils.cpp_extension as cpp_extension

anchor, mamba_dir, cc_dir, out_json = sys.argv[1:5]
scan_build = os.environ.get("SCAN_BUILD", "/tmp/ssbuild")
for d in (scan_build, "/tmp/ccbuild"):
    os.makedirs(d, exist_ok=True)
    if os.environ.get("KEEP_LOCKS") != "1" and os.path.exists(os.path.join(d, "lock")):
        print(f"removing a stale build lock in {d}", flush=True)
        os.remove(os.path.join(d, "lock"))

ss = os.path.join(mamba_dir, "csrc", "selective_scan")
gen_dir = os.path.join(scan_build, "reduced-sources")
os.makedirs(gen_dir, exist_ok=True)
KEPT = [("fwd", "float", "float"), ("fwd", "at::BFloat16", "float")]
STUBBED = [(d, i, w) for d in ("fwd", "bwd") for (i, w) in
           [("float", "complex_t"), ("at::Half", "float"), ("at::Half", "complex_t"), ("at::BFloat16", "complex_t")]]
sources = {}
# one file per forward instantiation (as the upstream files are, so that ninja compiles them in parallel)
for _, i, w in KEPT:
    name = f"selective_scan_fwd_{'fp32' if i == 'float' else 'bf16'}_real.cu"
    sources[name] = ('#include "selective_scan_fwd_kernel.cuh"\n'
                     f"template void selective_scan_fwd_cuda<{i}, {w}>(SSMParamsBase &params, cudaStream_t stream);\n")
# The stand-ins name the types by forward declarations (no torch headers needed): the mangled names
# equal those of the explicit instantiations selective_scan.cpp links against.
stub = ["// Stand-ins for selective-scan instantiations the benchmark never calls (see mamba1_e2e.py).",
        "#include <cstdio>", "#include <cstdlib>", "#include <cuda_runtime.h>",
        "namespace c10 { struct Half; struct BFloat16; template <typename T> struct complex; }",
        "namespace at { using c10::Half; using c10::BFloat16; }",
        "using complex_t = c10::complex<float>;",
        "struct SSMParamsBase; struct SSMParamsBwd;",
        "template <typename input_t, typename weight_t> void selective_scan_fwd_cuda(SSMParamsBase &params, cudaStream_t stream);",
        "template <typename input_t, typename weight_t> void selective_scan_bwd_cuda(SSMParamsBwd &params, cudaStream_t stream);",
        "[[noreturn]] static void not_built(const char* which) {",
        '    std::fprintf(stderr, "selective_scan %s was not built (bench/peers/mamba1_e2e.py builds fp32 and bf16 real only)\\n", which);',
        "    std::abort();", "}"]
for d, i, w in STUBBED:
    params = "SSMParamsBase" if d == "fwd" else "SSMParamsBwd"
    stub.append(f"template <> void selective_scan_{d}_cuda<{i}, {w}>({params} &, cudaStream_t) {{ not_built(\"{d} <{i}, {w}>\"); }}")
sources["selective_scan_unused_stubs.cu"] = "\n".join(stub) + "\n"
for name, text in sources.items():
    path = os.path.join(gen_dir, name)
    # rewritten only when changed, so that ninja sees the same inputs and rebuilds nothing
    if not os.path.exists(path) or open(path).read() != text:
        open(path, "w").write(text)
reduced = ([os.path.join(ss, "selective_scan.cpp"), os.path.join(ss, "selective_scan_bwd_fp32_real.cu"),
            os.path.join(ss, "selective_scan_bwd_bf16_real.cu")]
           + [os.path.join(gen_dir, n) for n in sorted(sources)])

original_load = cpp_extension.load


def load(name, sources, **kw):
    if name == "selective_scan_cuda":
        sources = reduced
        kw["extra_include_paths"] = list(kw.get("extra_include_paths") or []) + [ss]
    kw["verbose"] = True
    return original_load(name, sources, **kw)


cpp_extension.load = load
sys.argv = [anchor, mamba_dir, cc_dir, out_json]
runpy.run_path(anchor, run_name="__main__")
