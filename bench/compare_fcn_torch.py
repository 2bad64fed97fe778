#!/usr/bin/python3
"""compare_fcn_torch.py: run a segpipe FCN-8 model (bin/train-fcn) in
PyTorch and in bin/predict on the same inputs; fail if the outputs differ by
more than the tolerance.

Usage: compare_fcn_torch.py [--predict bin/predict] [-j 2] [-n 100]
                            [--tol 1e-4] MODEL INPUTS

The network (lib/nn/fcn.h), in PyTorch modules, float64, eval mode: five
VGG stages of (Conv2d 3x3 padding 1 -> BatchNorm2d -> activation) blocks
(2, 2, 3, 3, 3 of them at F, 2F, 4F, 8F, 8F channels) each ending in
MaxPool2d 2; fc6, fc7 as two more blocks of 16F; Conv2d 1x1 score layers
from fc7, pool4 and pool3; ConvTranspose2d(K, K, 4, 2, 1, bias=False) twice
and ConvTranspose2d(K, K, 16, 8, 4, bias=False), the skip scores added;
softmax over the classes. The model's parameters and running statistics
are copied in segpipe's documented order (fcn.h, segpipe-model(5)). The
input is padded at the bottom and right to a multiple of 32 and the output
cropped back, as segpipe does.

Prints TAB-separated lines compare_samples, compare_params,
compare_max_abs_diff, compare_tolerance, then PASS or FAIL. Exit status: 0
within tolerance, 1 above it or on an error. Needs python3-torch (Debian);
never part of make test.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unet_torch import read_stream, as_nchw  # noqa: E402

STAGES = ((2, 1), (2, 2), (3, 4), (3, 8), (3, 8))


def read_model(path):
    data = open(path, "rb").read()
    end = data.find(b"\n\n")
    lines = data[:end].decode("ascii").split("\n")
    if lines[0] != "segpipe-model 1":
        sys.exit("compare_fcn_torch.py: %s: not a segpipe model" % path)
    h = dict(ln.partition(" ")[::2] for ln in lines[1:])
    if h.get("kind") != "fcn8":
        sys.exit("compare_fcn_torch.py: %s: kind %s, not fcn8" % (path, h.get("kind")))
    if zlib.crc32(data[:-4]) & 0xffffffff != int.from_bytes(data[-4:], "little"):
        sys.exit("compare_fcn_torch.py: %s: checksum mismatch" % path)
    floats = np.frombuffer(data[end + 2:-4], dtype="<f4").astype(np.float64)
    n, ns = int(h["nparams"]), int(h["nstats"])
    return h, floats[:n], floats[n:n + ns]


def build(torch, cin, K, F, act):
    nn = torch.nn
    acts = dict(relu=nn.ReLU, leaky_relu=lambda: nn.LeakyReLU(0.01), tanh=nn.Tanh,
                sigmoid=nn.Sigmoid)

    class FCN8(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList()
            self.stage_of = []
            c = cin
            for s, (n, mult) in enumerate(STAGES + ((2, 16),)):
                for _ in range(n):
                    self.blocks.append(nn.Sequential(nn.Conv2d(c, F * mult, 3, padding=1),
                                                     nn.BatchNorm2d(F * mult), acts[act]()))
                    self.stage_of.append(s)
                    c = F * mult
            self.score32 = nn.Conv2d(16 * F, K, 1)
            self.up16 = nn.ConvTranspose2d(K, K, 4, 2, 1, bias=False)
            self.score16 = nn.Conv2d(8 * F, K, 1)
            self.up8 = nn.ConvTranspose2d(K, K, 4, 2, 1, bias=False)
            self.score8 = nn.Conv2d(4 * F, K, 1)
            self.up1 = nn.ConvTranspose2d(K, K, 16, 8, 4, bias=False)

        def ordered(self):
            p, s = [], []
            for b in self.blocks:
                p += [b[0].weight, b[0].bias, b[1].weight, b[1].bias]
                s += [b[1].running_mean, b[1].running_var]
            p += [self.score32.weight, self.score32.bias, self.up16.weight,
                  self.score16.weight, self.score16.bias, self.up8.weight,
                  self.score8.weight, self.score8.bias, self.up1.weight]
            return p, s

        def forward(self, x):
            pools = {}
            for i, b in enumerate(self.blocks):
                x = b(x)
                s = self.stage_of[i]
                if s < 5 and (i + 1 == len(self.blocks) or self.stage_of[i + 1] != s):
                    x = torch.nn.functional.max_pool2d(x, 2)
                    pools[s] = x
            y = self.up16(self.score32(x)) + self.score16(pools[3])
            y = self.up8(y) + self.score8(pools[2])
            return self.up1(y)

    return FCN8()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("inputs")
    ap.add_argument("--predict", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "bin", "predict"))
    ap.add_argument("-j", "--threads", type=int, default=2)
    ap.add_argument("-n", "--samples", type=int, default=100)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    h, params, stats = read_model(a.model)
    net = build(torch, int(h["in_channels"]), int(h["out_channels"]), int(h["filters"]),
                h["activation"]).double()
    plist, slist = net.ordered()
    want = sum(p.numel() for p in plist)
    if want != params.size or sum(s.numel() for s in slist) != stats.size:
        sys.exit("compare_fcn_torch.py: the model has %d parameters, the network %d"
                 % (params.size, want))
    with torch.no_grad():
        for src, dst in ((params, plist), (stats, slist)):
            off = 0
            for t in dst:
                t.copy_(torch.from_numpy(src[off:off + t.numel()].reshape(t.shape)))
                off += t.numel()

    raw = read_stream(a.inputs)[:a.samples]
    x = raw.astype(np.float64) / 255 if raw.dtype == np.uint8 else raw.astype(np.float64)
    x = as_nchw(x)
    H, W = x.shape[2:]
    Hp, Wp = -(-H // 32) * 32, -(-W // 32) * 32
    x = np.pad(x, ((0, 0), (0, 0), (0, Hp - H), (0, Wp - W)))
    net.eval()
    with torch.no_grad():
        ref = torch.softmax(net(torch.from_numpy(np.ascontiguousarray(x)))[:, :, :H, :W],
                            dim=1).numpy()

    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.npy")
        with open(inp, "wb") as f:
            np.lib.format.write_array(f, np.ascontiguousarray(raw))
        r = subprocess.run([a.predict, "-j", str(a.threads), "--precision", "fp32", a.model, inp],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            sys.stderr.write(r.stderr.decode(errors="replace"))
            sys.exit("compare_fcn_torch.py: predict failed (exit %d)" % r.returncode)
        outp = os.path.join(tmp, "out.npy")
        with open(outp, "wb") as f:
            f.write(r.stdout)
        got = read_stream(outp).astype(np.float64).reshape(ref.shape)
    diff = float(np.max(np.abs(got - ref)))
    print("compare_samples\t%d" % ref.shape[0])
    print("compare_params\t%d" % want)
    print("compare_max_abs_diff\t%.3g" % diff)
    print("compare_tolerance\t%g" % a.tol)
    ok = diff <= a.tol
    print("PASS" if ok else "FAIL: outputs differ by more than the tolerance")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
