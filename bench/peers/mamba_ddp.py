#!/usr/bin/env python3
"""The data-parallel peer of ssmtk's ScalingBench: state-spaces/mamba's MambaLMHeadModel (fast path,
causal-conv1d, fused add+RMSNorm) trained under PyTorch DDP (NCCL, one process a GPU), on the same
shapes and the same micro-batch per GPU, so that tokens/s and scaling efficiency compare in one job.

usage (after the anchor's bench_mamba_e2e.py has built the two CUDA extensions on this machine,
into /tmp/ssbuild and /tmp/ccbuild, or SCAN_BUILD and CONV_BUILD):
  torchrun --standalone --nproc_per_node N bench/peers/mamba_ddp.py MAMBA_DIR CAUSAL_CONV1D_DIR OUT_JSON
Rows (DDP_ROWS, default "130m:8x2048,dna:8x16384"): model:microbatch x length; fp32 weights and
products (DDP_PRECISION=bf16 for autocast), AdamW(fused) with clipping at 1.0, as ModelBench's peer.
"""
import importlib.util, json, os, sys, time
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

mamba_dir, cc_dir, out_json = sys.argv[1], sys.argv[2], sys.argv[3]


def load_built(name, folder):
    # the extension the anchor built (torch's cpp_extension cache): loaded as it is, no rebuild per rank
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, name + ".so"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module


load_built("selective_scan_cuda", os.environ.get("SCAN_BUILD", "/tmp/ssbuild"))
load_built("causal_conv1d_cuda", os.environ.get("CONV_BUILD", "/tmp/ccbuild"))
sys.path[:0] = [mamba_dir, cc_dir]
from mamba_ssm.models.config_mamba import MambaConfig  # noqa: E402
from mamba_ssm.models.mixer_seq_simple import MambaLMHeadModel  # noqa: E402
import causal_conv1d  # noqa: E402,F401
from mamba_ssm.modules import mamba_simple  # noqa: E402
assert mamba_simple.causal_conv1d_fn is not None, "causal-conv1d fast path not active"

SHAPES = {"130m": (768, 24, 50280), "dna": (256, 8, 16)}
local = int(os.environ["LOCAL_RANK"])
torch.cuda.set_device(local)
dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
precision = os.environ.get("DDP_PRECISION", "fp32")
steps = int(os.environ.get("DDP_STEPS", "6"))
rows = []

for spec in os.environ.get("DDP_ROWS", "130m:8x2048,dna:8x16384").split(","):
    name, bl = spec.split(":")
    b, L = map(int, bl.split("x"))
    d, n, vocab = SHAPES[name]
    torch.manual_seed(0)
    cfg = MambaConfig(d_model=d, n_layer=n, vocab_size=vocab, ssm_cfg={"layer": "Mamba1"}, rms_norm=True,
                      residual_in_fp32=True, fused_add_norm=True, pad_vocab_size_multiple=8)
    model = DDP(MambaLMHeadModel(cfg, device="cuda", dtype=torch.float32), device_ids=[local])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    g = torch.Generator(device="cuda").manual_seed(1000 + rank)
    x = torch.randint(0, vocab, (b, L + 1), device="cuda", generator=g)
    torch.cuda.reset_peak_memory_stats()

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(x[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    step(); step()
    dist.barrier(); torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize(); dist.barrier()
    s = (time.perf_counter() - t) / steps
    row = {"what": "train-ddp", "model": name, "gpus": world, "micro_batch": b, "L": L, "precision": precision,
           "s_per_step": round(s, 4), "tokens_per_s": round(world * b * L / s),
           "peak_GiB_per_gpu": round(torch.cuda.max_memory_allocated() / 2**30, 2)}
    if rank == 0:
        print(json.dumps(row), flush=True)
    rows.append(row)
    del model, opt
    torch.cuda.empty_cache()

if rank == 0:
    json.dump({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "nccl": ".".join(map(str, torch.cuda.nccl.version())),
               "impl": "mamba_ssm fast path + causal-conv1d, torch DDP", "rows": rows}, open(out_json, "w"), indent=1)
dist.destroy_process_group()
