#!/usr/bin/env python3
"""The Mamba-2 peer of ssmtk's ModelBench rows: state-spaces/mamba's MambaLMHeadModel with Mamba2
mixers (the memory-efficient path: mamba_split_conv1d_scan_combined, i.e. causal-conv1d's CUDA conv
and the Triton SSD; gated RMSNorm in Triton; fused add+RMSNorm, residual in fp32), AdamW(fused) with
clipping, on the shapes of ssmtk's presets 130m-mamba2 and dna-mamba2.

usage: mamba2_e2e.py MAMBA_DIR CAUSAL_CONV1D_DIR OUT_JSON
The two CUDA extensions are built as ../shared/tools/anchors/bench_mamba_e2e.py builds them, into the same
folders (/tmp/ssbuild, /tmp/ccbuild), so whichever script runs first builds and the other compiles
nothing. Mamba-2 needs only causal-conv1d (mamba_ssm imports selective_scan_cuda inside a try), so
selective_scan, which took more than one 10-minute device call on 16 cores with other work beside it,
is built only with M2_WITH_SCAN=1. A build killed by a timeout leaves
torch's `lock` file behind, and the next load() then waits on it forever: stale locks are removed
first (one build at a time on the device machine). M2_ROWS=train,gen,long picks rows (default:
all); M2_ROWS=build only builds; M2_PROFILE=1 prints each training row's kernels (torch.profiler, 2 steps).
"""
import json, os, sys, time
import torch
from torch.utils.cpp_extension import load

mamba_dir, cc_dir, out_json = sys.argv[1], sys.argv[2], sys.argv[3]
cap = torch.cuda.get_device_capability(); arch = f"{cap[0]}{cap[1]}"
# the same flags as the anchor script, so that its build folders are reused as they are
flags = ["-O3", "-std=c++17", "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
         "-U__CUDA_NO_BFLOAT16_OPERATORS__", "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
         "-U__CUDA_NO_BFLOAT162_OPERATORS__", "-U__CUDA_NO_BFLOAT162_CONVERSIONS__",
         "--expt-relaxed-constexpr", "--expt-extended-lambda", "--use_fast_math", "-lineinfo",
         "--threads", "4", "-gencode", f"arch=compute_{arch},code=sm_{arch}"]
for d in (os.environ.get("SCAN_BUILD", "/tmp/ssbuild"), "/tmp/ccbuild"):
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, "lock")):
        print(f"removing a stale build lock in {d}", flush=True)
        os.remove(os.path.join(d, "lock"))
t0 = time.time()
cs = os.path.join(cc_dir, "csrc")
sys.modules["causal_conv1d_cuda"] = load(
    name="causal_conv1d_cuda", extra_include_paths=[cs], extra_cflags=["-O3", "-std=c++17"], extra_cuda_cflags=flags,
    build_directory="/tmp/ccbuild", verbose=True,
    sources=[os.path.join(cs, f) for f in ["causal_conv1d.cpp", "causal_conv1d_fwd.cu", "causal_conv1d_bwd.cu",
                                           "causal_conv1d_update.cu"]])
print(f"causal-conv1d ready after {time.time() - t0:.0f} s", flush=True)
ss = os.path.join(mamba_dir, "csrc", "selective_scan")
if os.environ.get("M2_WITH_SCAN") == "1":
    sys.modules["selective_scan_cuda"] = load(
      name="selective_scan_cuda", extra_include_paths=[ss], extra_cflags=["-O3", "-std=c++17"], extra_cuda_cflags=flags,
      build_directory=os.environ.get("SCAN_BUILD", "/tmp/ssbuild"), verbose=True,
      sources=[os.path.join(ss, f) for f in [
          "selective_scan.cpp",
          "selective_scan_fwd_fp32.cu", "selective_scan_fwd_fp16.cu", "selective_scan_fwd_bf16.cu",
          "selective_scan_bwd_fp32_real.cu", "selective_scan_bwd_fp32_complex.cu",
          "selective_scan_bwd_fp16_real.cu", "selective_scan_bwd_fp16_complex.cu",
          "selective_scan_bwd_bf16_real.cu", "selective_scan_bwd_bf16_complex.cu"]])
print(f"extensions ready after {time.time() - t0:.0f} s", flush=True)
which = os.environ.get("M2_ROWS", "train,gen,long").split(",")
if which == ["build"]:
    sys.exit(0)
sys.path[:0] = [mamba_dir, cc_dir]
from mamba_ssm.models.config_mamba import MambaConfig  # noqa: E402
from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel  # noqa: E402
from mamba_ssm.modules import mamba2  # noqa: E402
assert mamba2.causal_conv1d_fn is not None, "causal-conv1d not importable: the reference would take its slow path"

# d_model, layers, vocab, d_state, headdim, ngroups, chunk: ssmtk's presets
PRESETS = {"130m-mamba2": (768, 24, 50280, 128, 64, 1, 256), "dna-mamba2": (256, 8, 16, 64, 64, 1, 256)}
res = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__,
       "impl": "mamba_ssm Mamba2 (mem-eff path: causal-conv1d + Triton SSD, gated RMSNorm)", "rows": []}


def model_of(name):
    d, n, vocab, state, headdim, groups, chunk = PRESETS[name]
    cfg = MambaConfig(d_model=d, n_layer=n, vocab_size=vocab, rms_norm=True, residual_in_fp32=True,
                      fused_add_norm=True, pad_vocab_size_multiple=8,
                      ssm_cfg={"layer": "Mamba2", "d_state": state, "headdim": headdim, "ngroups": groups,
                               "chunk_size": chunk, "expand": 2, "d_conv": 4})
    return MambaLMHeadModel(cfg, device="cuda", dtype=torch.float32), vocab


def sync_time(fn, n):
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(n):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / n


def emit(row):
    res["rows"].append(row); print(json.dumps(row), flush=True)


def train(name, b, L, prec, steps=6):
    torch.manual_seed(0)
    m, vocab = model_of(name)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, fused=True)
    x = torch.randint(0, vocab, (b, L + 1), device="cuda")
    torch.cuda.reset_peak_memory_stats()

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=prec == "bf16"):
            logits = m(x[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step(); opt.zero_grad(set_to_none=True)
    step(); step()  # Triton compiles and autotunes here
    s = sync_time(step, steps)
    if os.environ.get("M2_PROFILE") == "1":  # where the reference's step goes, kernel by kernel
        from torch.profiler import profile, ProfilerActivity
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            step(); step(); torch.cuda.synchronize()
        for key in ("self_device_time_total", "self_cuda_time_total"):  # the name changed across torch versions
            try:
                print(f"profile {name} {prec} (2 steps)\n" + prof.key_averages().table(sort_by=key, row_limit=45,
                                                                                      max_name_column_width=90), flush=True)
                break
            except (KeyError, AttributeError, ValueError, RuntimeError) as e:
                print(f"profile: sort key {key}: {e!r}", flush=True)
    emit({"what": "train", "model": name, "batch": b, "L": L, "precision": prec, "s_per_step": round(s, 4),
          "tokens_per_s": round(b * L / s), "peak_GiB": round(torch.cuda.max_memory_allocated() / 2**30, 2),
          "peak_reserved_GiB": round(torch.cuda.max_memory_reserved() / 2**30, 2)})
    del m, opt; torch.cuda.empty_cache()


@torch.inference_mode()
def gen(name, batch, cg, steps=64):
    torch.manual_seed(0)
    m, vocab = model_of(name)
    m.eval()
    ids = torch.randint(0, vocab, (batch, 1), device="cuda")
    m.generate(ids, max_length=1 + steps, cg=cg, top_k=1)
    s = sync_time(lambda: m.generate(ids, max_length=1 + steps, cg=cg, top_k=1), 3)
    emit({"what": "generate", "model": name, "batch": batch, "steps": steps, "cuda_graphs": cg,
          "tokens_per_s": round(batch * steps / s), "ms_per_step": round(1000 * s / steps, 3)})
    del m; torch.cuda.empty_cache()


@torch.inference_mode()
def long_forward(name, L):
    m, vocab = model_of(name)
    m.eval()
    x = torch.randint(0, vocab, (1, L), device="cuda")
    torch.cuda.reset_peak_memory_stats()
    f = lambda: m(x, num_last_tokens=1)
    f()
    s = sync_time(f, 3)
    emit({"what": "forward", "model": name, "batch": 1, "L": L, "seconds": round(s, 4), "tokens_per_s": round(L / s),
          "peak_GiB": round(torch.cuda.max_memory_allocated() / 2**30, 2)})
    del m; torch.cuda.empty_cache()


for what, fn in [("train", lambda: (train("130m-mamba2", 8, 2048, "fp32"), train("130m-mamba2", 8, 2048, "bf16"),
                                    train("dna-mamba2", 8, 16384, "fp32"))),
                 ("gen", lambda: [gen("130m-mamba2", b, True) for b in (1, 64)]),
                 ("long", lambda: long_forward("dna-mamba2", 1 << 20))]:
    if what in which:
        try:
            fn()
        except Exception as e:  # one failing row must not cost the others in a paid device call
            emit({"what": what, "error": repr(e)[:300]})
json.dump(res, open(out_json, "w"), indent=1)
