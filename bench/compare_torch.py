#!/usr/bin/python3
"""compare_torch.py: run a segpipe U-Net model in PyTorch and in bin/predict
on the same inputs; fail if the outputs differ by more than the tolerance.

Usage: compare_torch.py [--predict bin/predict] [-j 2] [-n 500] [--tol 1e-4]
                        [--precision fp32|bf16]
                        MODEL INPUTS

MODEL is a file written by bin/train-unet (format: segpipe-model(5)); its
parameters and batch-norm running statistics are copied, in segpipe's
documented order (lib/nn/unet.h), into bench/unet_torch.py's network, which runs
in float64, in eval mode (running statistics), as the reference. INPUTS is
an image stream (uint8 /255, or float32 as it is), of which the first N
samples are used. The outputs compared are predict's: probabilities
(sigmoid) for a bce model, softmax over channels for ce, raw values for mse.

Prints TAB-separated lines: compare_samples, compare_max_abs_diff,
compare_tolerance, then PASS or FAIL.
Exit status: 0 within tolerance, 1 above it (or on an error),
3 when the model file's format or architecture is not one this script
knows (reported as "skipped: ...", so bench/run does not fail on it).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_torch import build_unet, read_stream, as_nchw  # noqa: E402

TOLERANCE = 1e-4


class Unsupported(Exception):
    """The model file is not one this script can read."""


def header_get(h, *names, default=None):
    for n in names:
        if n in h:
            return h[n]
    if default is not None:
        return default
    raise Unsupported("header has none of the keys %s" % ", ".join(names))


def load_segpipe_model(path):
    """A segpipe-model(5) file (lib/io/model.h), plain or gzip-compressed:
        segpipe-model 1\n, then "key value" lines, then an empty line;
        float32 LE params[nparams], float32 LE stats[nstats],
        Adam's m and v (nparams each) when "adam 1", uint32 LE crc32 of
        every byte before it.
    -> dict(config=dict(kind, in_ch, out_ch, depth, filters, act, loss),
    params (float32, segpipe's order), stats (float32: running_mean,
    running_var per batch norm))."""
    import gzip
    import zlib
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    end = data.find(b"\n\n")
    if end < 0:
        raise Unsupported("no end of header")
    lines = data[:end].decode("ascii", errors="replace").split("\n")
    magic = lines[0].split()
    if len(magic) != 2 or magic[0] != "segpipe-model":
        raise Unsupported("not a segpipe model (first line %r)" % lines[0][:40])
    if magic[1] != "1":
        raise Unsupported("format version %s; this script reads version 1" % magic[1])
    h = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(" ")
        h[k] = v.strip()
    cfg = dict(kind=header_get(h, "kind"),
               in_ch=int(header_get(h, "in_channels", "in")),
               out_ch=int(header_get(h, "out_channels", "out")),
               depth=int(header_get(h, "depth", default="2")),
               filters=int(header_get(h, "filters", default="16")),
               act=header_get(h, "act", "activation", default="relu"),
               loss=header_get(h, "loss", default="bce"))
    if cfg["kind"] != "unet":
        raise Unsupported("model kind %s is not a U-Net" % cfg["kind"])
    body = data[end + 2:]
    if len(body) < 4:
        raise Unsupported("truncated")
    crc = int.from_bytes(body[-4:], "little")
    if zlib.crc32(data[:-4]) & 0xffffffff != crc:
        raise Unsupported("checksum mismatch (or a layout this script does not know)")
    floats = np.frombuffer(body[:-4], dtype="<f4")
    net = build_unet(cfg["in_ch"], cfg["out_ch"], cfg["depth"], cfg["filters"], cfg["act"])
    want_p = sum(p.numel() for p in net.ordered_parameters())
    want_s = sum(s.numel() for s in net.ordered_stats())
    nparams = int(header_get(h, "nparams", "params", default=str(want_p)))
    nstats = int(header_get(h, "nstats", "stats", default=str(want_s)))
    adam = header_get(h, "adam", default="0") == "1"
    total = nparams + nstats + (2 * nparams if adam else 0)
    if floats.size != total:
        raise Unsupported("%d floats after the header, %d expected" % (floats.size, total))
    return dict(config=cfg, header=h, params=floats[:nparams],
                stats=floats[nparams:nparams + nstats])


def copy_into(net, model):
    import torch
    params = np.asarray(model["params"], dtype=np.float64)
    stats = np.asarray(model["stats"], dtype=np.float64)
    want = sum(p.numel() for p in net.ordered_parameters())
    if params.size != want:
        raise Unsupported("model has %d parameters, the network %d" % (params.size, want))
    wants = sum(s.numel() for s in net.ordered_stats())
    if stats.size != wants:
        raise Unsupported("model has %d running statistics, the network %d" % (stats.size, wants))
    with torch.no_grad():
        off = 0
        for p in net.ordered_parameters():
            p.copy_(torch.from_numpy(params[off:off + p.numel()].reshape(p.shape)))
            off += p.numel()
        off = 0
        for s in net.ordered_stats():
            s.copy_(torch.from_numpy(stats[off:off + s.numel()].reshape(s.shape)))
            off += s.numel()


def write_npy(path, a):
    with open(path, "wb") as f:
        np.lib.format.write_array(f, np.ascontiguousarray(a))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("inputs")
    ap.add_argument("--predict", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "bin", "predict"))
    ap.add_argument("-j", "--threads", type=int, default=2)
    ap.add_argument("-n", "--samples", type=int, default=500)
    ap.add_argument("--tol", type=float, default=TOLERANCE)
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                    help="predict's precision (the reference is float64 either way)")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)

    try:
        model = load_segpipe_model(a.model)
        cfg = model["config"]
        if cfg.get("kind", "unet") != "unet":
            raise Unsupported("model kind %s is not a U-Net" % cfg["kind"])
        net = build_unet(cfg["in_ch"], cfg["out_ch"], cfg["depth"], cfg["filters"],
                         cfg.get("act", "relu")).double()
        copy_into(net, model)
    except Unsupported as e:
        print("skipped: %s: %s" % (a.model, e))
        return 3

    raw = read_stream(a.inputs)[:a.samples]
    x = raw.astype(np.float64) / 255 if raw.dtype == np.uint8 else raw.astype(np.float64)
    x = as_nchw(x)
    H, W = x.shape[2:]
    if H % (1 << cfg["depth"]) or W % (1 << cfg["depth"]):
        # segpipe pads at the bottom and right to a multiple of 2^depth
        m = 1 << cfg["depth"]
        Hp, Wp = -(-H // m) * m, -(-W // m) * m
        x = np.pad(x, ((0, 0), (0, 0), (0, Hp - H), (0, Wp - W)))

    net.eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(np.ascontiguousarray(x)))[:, :, :H, :W]
        loss = cfg.get("loss", "bce")
        if loss == "bce":
            ref = torch.sigmoid(logits)
        elif loss == "ce":
            ref = torch.softmax(logits, dim=1)
        else:
            ref = logits
        ref = ref.numpy()

    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.npy")
        write_npy(inp, raw)
        r = subprocess.run([a.predict, "-j", str(a.threads), "--precision", a.precision,
                            a.model, inp],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            sys.stderr.write(r.stderr.decode(errors="replace"))
            print("compare_torch.py: predict failed (exit %d)" % r.returncode, file=sys.stderr)
            return 1
        outp = os.path.join(tmp, "out.npy")
        with open(outp, "wb") as f:
            f.write(r.stdout)
        got = read_stream(outp).astype(np.float64)

    got = got.reshape(ref.shape) if got.size == ref.size else got
    if got.shape != ref.shape:
        print("compare_torch.py: predict gave shape %s, PyTorch %s" % (got.shape, ref.shape),
              file=sys.stderr)
        return 1
    diff = float(np.max(np.abs(got - ref)))
    print("compare_samples\t%d" % ref.shape[0])
    print("compare_max_abs_diff\t%.3g" % diff)
    print("compare_tolerance\t%g" % a.tol)
    ok = diff <= a.tol
    print("PASS" if ok else "FAIL: outputs differ by more than the tolerance")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
