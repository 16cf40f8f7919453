"""A numpy peer for `npm run bench`: the all-pairs L2 distances of a folder of .safetensors files, tensor by tensor,
with a float64 Gram matrix computed by BLAS (no per-pair loop, no identity shortcut).
Per tensor: read it from every file, decode, centre on the mean row, G = X X^T in float64, d2 = Gii + Gjj - 2 Gij,
summed per component; writes {"ml", "dm"} like model_map_v2.json (component -> N x N L2 matrix).
Usage: python3 numpy_gram_peer.py FOLDER OUT.json"""
import json, os, struct, sys, time
import numpy as np

DT = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "I16": np.int16,
      "I8": np.int8, "U8": np.uint8}
CHUNK_BYTES = 128 << 20  # float64 bytes of X held at once (N x columns)


def comp(k):
    if k.startswith("cond_stage_model"): return "te"
    if k.startswith("conditioner.embedders.0"): return "te0"
    if k.startswith("conditioner.embedders.1"): return "te1"
    if k.startswith("first_stage_model"): return "vae"
    if k.startswith("model.diffusion_model"): return "unet"
    return "other"


def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
    hdr.pop("__metadata__", None)
    return hdr, 8 + n


def main():
    folder, out = sys.argv[1], sys.argv[2]
    ml = sorted(p for p in os.listdir(folder) if p.endswith(".safetensors"))
    n = len(ml)
    files = [open(os.path.join(folder, f), "rb") for f in ml]
    heads = [header(os.path.join(folder, f)) for f in ml]
    t0 = time.time()
    d2 = {}
    keys = [k for k, v in heads[0][0].items() if v["dtype"] in DT]
    for k in keys:
        specs = [h.get(k) for h, _ in heads]
        if any(s is None or s["shape"] != specs[0]["shape"] or s["dtype"] not in DT for s in specs): continue
        numel = int(np.prod(specs[0]["shape"], dtype=np.int64))
        if numel == 0: continue
        g = np.zeros((n, n))
        step = max(1, CHUNK_BYTES // (8 * n))
        for c0 in range(0, numel, step):
            c1 = min(numel, c0 + step)
            x = np.empty((n, c1 - c0))
            for i, (f, s, (_, base)) in enumerate(zip(files, specs, heads)):
                dt = np.dtype(DT[s["dtype"]]).newbyteorder("<")
                f.seek(base + s["data_offsets"][0] + c0 * dt.itemsize)
                x[i] = np.frombuffer(f.read((c1 - c0) * dt.itemsize), dtype=dt)
            x -= x.mean(axis=0)
            g += x @ x.T
        diag = np.diag(g)
        dk = np.maximum(diag[:, None] + diag[None, :] - 2 * g, 0.0)
        if np.all(np.isfinite(dk)):
            c = comp(k)
            d2[c] = d2.get(c, 0) + dk
    dt = time.time() - t0
    dm = {c: np.sqrt(v).tolist() for c, v in d2.items()}
    json.dump({"ml": ml, "dm": dm, "seconds": dt, "blas": blas_name()}, open(out, "w"))
    print(f"{len(keys)} keys, {n} models in {dt:.2f} s")


def blas_name():
    """The BLAS library numpy loaded (Debian's reference libblas is about 20x slower than OpenBLAS)."""
    for line in open("/proc/self/maps"):
        name = os.path.basename(line.split()[-1])
        if name.startswith(("libblas", "libopenblas", "libmkl_rt", "libblis")):
            return "/".join(os.path.realpath(line.split()[-1]).split("/")[-2:])
    return "?"


if __name__ == "__main__":
    main()
