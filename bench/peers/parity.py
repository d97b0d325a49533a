"""Helpers of scripts/bench-cpu.sh (plain Python, no numpy): token inputs for both tools, logits
parity between ssmtk and llama.cpp, and the timing table."""
import json, math, statistics, struct, sys


def lcg_tokens(n, vocab):
    # the same ids as ssmtk's ModelTiming.tokens and the driver's bench mode
    x, ids = 1, []
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        ids.append((x >> 8) % vocab)
    return ids


def write_inputs(prefix, n, vocab):
    ids = lcg_tokens(n, vocab)
    open(prefix + ".i32", "wb").write(struct.pack("<%di" % n, *ids))
    header = json.dumps({"input_ids": {"dtype": "I64", "shape": [1, n], "data_offsets": [0, 8 * n]}}).encode()
    header += b" " * (-len(header) % 8)
    open(prefix + ".safetensors", "wb").write(struct.pack("<Q", len(header)) + header + struct.pack("<%dq" % n, *ids))


def safetensors_f32(path, name):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])[name]
    s, e = h["data_offsets"]
    return h["shape"], struct.unpack("<%df" % ((e - s) // 4), b[8 + n + s:8 + n + e])


def rel(a, b):
    num = sum((x - y) ** 2 for x, y in zip(a, b))
    den = sum(y * y for y in b)
    return math.sqrt(num / den)


def compare(model, out):
    shape, fp32 = safetensors_f32(f"{out}/{model}-ssmtk-fp32.safetensors", "logits")
    _, int8 = safetensors_f32(f"{out}/{model}-ssmtk-int8.safetensors", "logits")
    vocab = shape[-1]
    rows = len(fp32) // vocab

    def llama(kind):
        b = open(f"{out}/{model}-llama-{kind}.f32", "rb").read()
        v = struct.unpack("<%df" % (len(b) // 4), b)
        lv = len(v) // rows  # llama.cpp's vocab may be padded differently: compare the shared columns
        return [v[r * lv + c] for r in range(rows) for c in range(vocab)]

    f32, q8 = llama("f32"), llama("q8_0")
    print(f"{model}: logits relative error  llama.cpp F32 vs ssmtk fp32 {rel(f32, fp32):.2e} | "
          f"llama.cpp Q8_0 vs ssmtk int8 {rel(q8, int8):.2e} | ssmtk int8 vs ssmtk fp32 {rel(int8, fp32):.2e}")


def table(path, prompt):
    rows = {}
    for line in open(path):
        m, th, w, tool, pp, tg = line.split("\t")
        rows.setdefault((m, int(th), w), {}).setdefault(tool, []).append((float(pp), float(tg)))
    print("| model | threads | weights | prompt tok/s ssmtk | llama.cpp | ratio | decode tok/s ssmtk | llama.cpp | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (m, th, w), tools in rows.items():
        def stat(tool, i, scale):
            v = [scale / r[i] for r in tools.get(tool, [])]
            return (statistics.median(v), min(v), max(v)) if v else (float("nan"),) * 3
        sp, lp = stat("ssmtk", 0, int(prompt)), stat("llama.cpp", 0, int(prompt))
        sd, ld = stat("ssmtk", 1, 1.0), stat("llama.cpp", 1, 1.0)
        fmt = lambda s: f"{s[0]:,.1f} [{s[1]:,.1f}-{s[2]:,.1f}]"
        print(f"| {m} | {th} | {w} / {'F32' if w == 'fp32' else 'Q8_0'} | {fmt(sp)} | {fmt(lp)} | {sp[0] / lp[0]:.2f}x "
              f"| {fmt(sd)} | {fmt(ld)} | {sd[0] / ld[0]:.2f}x |")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "write-inputs":
        write_inputs(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3])
    elif cmd == "table":
        table(sys.argv[2], sys.argv[3])
