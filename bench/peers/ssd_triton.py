#!/usr/bin/env python3
"""The peer of ssmtk's SsdBench: state-spaces/mamba's Triton SSD scan (mamba_chunk_scan_combined: dt
softplus + bias, D skip, grouped B/C, no z) on the same shapes, fp32, CUDA events, median of five
after two warm-ups. Needs only the mamba_ssm sources (no CUDA extension: the SSD is Triton).

usage: ssd_triton.py MAMBA_DIR [PRESET:BATCHxLEN ...]   (presets as ssmtk's: 130m-mamba2, dna-mamba2)
"""
import statistics, sys, types
import torch

mamba_dir = sys.argv[1]
specs = sys.argv[2:] or ["130m-mamba2:8x2048", "dna-mamba2:8x16384", "dna-mamba2:1x1048576"]
sys.path.insert(0, mamba_dir)
# the package's own __init__ imports the CUDA extensions; the SSD needs none of them
pkg = types.ModuleType("mamba_ssm"); pkg.__path__ = [mamba_dir + "/mamba_ssm"]; sys.modules["mamba_ssm"] = pkg
from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined  # noqa: E402

# heads, head_dim, groups, state, chunk: ssmtk's presets
PRESETS = {"130m-mamba2": (24, 64, 1, 128, 256), "dna-mamba2": (8, 64, 1, 64, 256)}


def median_ms(fn, reps=5):
    for _ in range(2):
        fn()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record(); b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, Triton SSD (state-spaces/mamba)")
print("| preset | batch x L | fwd ms (no grad) | fwd+bwd ms |")
print("|---|---|---|---|")
for spec in specs:
    name, bl = spec.split(":")
    bsz, L = map(int, bl.split("x"))
    h, p, g, n, chunk = PRESETS[name]
    gen = torch.Generator(device="cuda").manual_seed(0)
    u = lambda *shape, lo=-1.0, hi=1.0: (torch.rand(*shape, device="cuda", generator=gen) * (hi - lo) + lo)
    x, dt = u(bsz, L, h, p), u(bsz, L, h, lo=-4, hi=0)
    A, D, bias = u(h, lo=-8, hi=-1), u(h, lo=0, hi=1), u(h, lo=-1, hi=0)
    B, C, dy = u(bsz, L, g, n), u(bsz, L, g, n), u(bsz, L, h, p)
    run = lambda: mamba_chunk_scan_combined(x, dt, A, B, C, chunk, D=D, dt_bias=bias, dt_softplus=True)
    with torch.no_grad():
        fwd = median_ms(run)
    leaves = [t.requires_grad_() for t in (x, dt, A, B, C, D, bias)]

    def both():
        y = run()
        y.backward(dy)
        for t in leaves:
            t.grad = None
    fb = median_ms(both)
    print(f"| {name} | {bsz}x{L} | {fwd:.3f} | {fb:.3f} |", flush=True)
    del x, dt, B, C, dy, leaves
    torch.cuda.empty_cache()
