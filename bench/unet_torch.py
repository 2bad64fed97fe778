#!/usr/bin/python3
"""unet_torch.py: a PyTorch reference of segpipe's default U-Net, and its speed.

The network (lib/nn/unet.h): depth 2, 16 filters at level 0 doubling per level;
each level two (Conv2d 3x3 padding 1 with bias -> BatchNorm2d -> ReLU), then
MaxPool2d 2 (the skip is taken before the pool); a bottleneck of two such
blocks at 64; each decoder level a ConvTranspose2d(2x2, stride 2) halving the
channels, torch.cat([up, skip], dim=1) and two blocks; a 1x1 Conv2d head to
the output channels (logits). 117,393 parameters at 1 in / 1 out.

ordered_parameters() and ordered_stats() list the parameters and the
BatchNorm running statistics in segpipe's documented order (lib/nn/unet.h,
segpipe-model(5)); bench/compare_torch.py relies on them.

Usage:
  unet_torch.py --flops            forward FLOPs per 28x28 image (no torch needed)
  unet_torch.py --train-images X.npy --train-masks Y.npy --test-images Z.npy
                [--images 6400] [--warmup 5] [--batch 64]
                [--predict-batch 64] [--threads 2] [--filters 16]
                [--loss bce|mse] [--precision fp32|bf16]

--precision bf16 runs the forward passes (and so the backward) under
torch.autocast('cpu', dtype=torch.bfloat16), PyTorch's mixed precision.
--loss mse takes float targets with any number of channels (the separation
network: two outputs); bce takes 0/1 masks.

Inputs are tensor streams (.npy arrays back to back) of uint8 images (/255)
and uint8 0/1 Otsu masks (bin/otsu). Output: TAB-separated lines
  torch_version, torch_threads, unet_params, unet_forward_flop,
  torch_train_img_s, torch_predict_img_s, and the settings used.
"""
import argparse
import sys
import time

import numpy as np


def read_stream(path):
    """A tensor stream: every .npy array in the file, concatenated on axis 0."""
    parts = []
    with open(path, "rb") as f:
        while True:
            head = f.peek(1) if hasattr(f, "peek") else b""
            if not head:
                break
            parts.append(np.lib.format.read_array(f))
    if not parts:
        sys.exit("unet_torch.py: %s: empty stream" % path)
    return np.concatenate(parts, axis=0)


def as_nchw(a):
    """(N,H,W) -> (N,1,H,W); (N,C,H,W) as it is."""
    return a[:, None] if a.ndim == 3 else a


def unet_flops(in_ch=1, out_ch=1, depth=2, filters=16, H=28, W=28):
    """Forward multiply-add FLOPs (2 per MAC) of the convolutions of one image;
    batch norm, ReLU, pooling and biases are left out (a few percent)."""
    assert H % (1 << depth) == 0 and W % (1 << depth) == 0
    flops = 0

    def conv(cin, cout, k, h, w):        # output h x w
        return 2 * cin * cout * k * k * h * w

    c, h, w = in_ch, H, W
    for lev in range(depth):
        f = filters << lev
        flops += conv(c, f, 3, h, w) + conv(f, f, 3, h, w)
        c, h, w = f, h // 2, w // 2
    f = filters << depth
    flops += conv(c, f, 3, h, w) + conv(f, f, 3, h, w)
    c = f
    for lev in reversed(range(depth)):
        f = filters << lev
        flops += 2 * c * f * 4 * h * w     # ConvTranspose2d 2x2 stride 2: per input pixel
        h, w = h * 2, w * 2
        flops += conv(2 * f, f, 3, h, w) + conv(f, f, 3, h, w)
        c = f
    flops += conv(c, out_ch, 1, h, w)
    return flops


def build_unet(in_ch=1, out_ch=1, depth=2, filters=16, act="relu"):
    import torch
    from torch import nn

    acts = {"relu": lambda: nn.ReLU(inplace=True),
            "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=True),
            "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=True), nn.BatchNorm2d(cout),
                acts[act]()]

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.depth = depth
            self.down = nn.ModuleList()
            c = in_ch
            for lev in range(depth):
                f = filters << lev
                self.down.append(nn.Sequential(*block(c, f), *block(f, f)))
                c = f
            f = filters << depth
            self.bottleneck = nn.Sequential(*block(c, f), *block(f, f))
            c = f
            # decoder in forward order: level depth-1 first; each level's
            # up-convolution registered before its convolutions
            self.up = nn.ModuleList()
            self.dec = nn.ModuleList()
            for lev in reversed(range(depth)):
                f = filters << lev
                self.up.append(nn.ConvTranspose2d(c, f, 2, stride=2))
                self.dec.append(nn.Sequential(*block(2 * f, f), *block(f, f)))
                c = f
            self.head = nn.Conv2d(c, out_ch, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            skips = []
            for d in self.down:
                x = d(x)
                skips.append(x)
                x = self.pool(x)
            x = self.bottleneck(x)
            for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
                x = dec(torch.cat([up(x), skip], dim=1))
            return self.head(x)

        def forward_order(self):
            """The layers in segpipe's order (lib/nn/unet.h): encoder levels,
            bottleneck, then per decoder level its up-convolution and its
            blocks, then the head. (Not self.modules(): that would list all
            up-convolutions before all decoder blocks.)"""
            mods = list(self.down) + [self.bottleneck]
            for up, dec in zip(self.up, self.dec):
                mods += [up, dec]
            mods.append(self.head)
            out = []
            for m in mods:
                out += [x for x in m.modules()
                        if isinstance(x, (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d))]
            return out

        def ordered_parameters(self):
            """Parameters in segpipe's order: weight then bias of each
            convolution, gamma then beta of each batch norm."""
            ps = []
            for m in self.forward_order():
                ps += [m.weight, m.bias]
            return ps

        def ordered_stats(self):
            """BatchNorm running (mean, var) buffers in segpipe's order."""
            st = []
            for m in self.forward_order():
                if isinstance(m, nn.BatchNorm2d):
                    st += [m.running_mean, m.running_var]
            return st

    return UNet()


def measured_flops(net, H=28, W=28):
    """The same count as unet_flops, from the layer shapes seen by hooks."""
    import torch
    from torch import nn
    total = [0]

    def hook(m, inp, out):
        cin = inp[0].shape[1]
        kh, kw = m.kernel_size
        if isinstance(m, nn.ConvTranspose2d):
            h, w = inp[0].shape[2:]
        else:
            h, w = out.shape[2:]
        total[0] += 2 * cin * m.out_channels * kh * kw * h * w

    hs = [m.register_forward_hook(hook) for m in net.modules()
          if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, net.down[0][0].in_channels, H, W))
    for h in hs:
        h.remove()
    return total[0]


EXPECTED_PARAMS = 117393


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flops", action="store_true",
                    help="print the forward FLOPs per 28x28 image and exit")
    ap.add_argument("--train-images")
    ap.add_argument("--train-masks")
    ap.add_argument("--test-images")
    ap.add_argument("--images", type=int, default=6400,
                    help="training images timed (after the warm-up)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up batches")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--predict-batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--filters", type=int, default=16)
    ap.add_argument("--loss", choices=("bce", "mse"), default="bce")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--size", type=int, default=28, help="image size for --flops")
    ap.add_argument("--outputs", type=int, default=1, help="output channels for --flops")
    a = ap.parse_args()

    if a.flops:
        print("unet_forward_flop\t%d" % unet_flops(out_ch=a.outputs, filters=a.filters,
                                                   H=a.size, W=a.size))
        return
    if not (a.train_images and a.train_masks and a.test_images):
        ap.error("--train-images, --train-masks and --test-images are needed")

    import torch
    from torch import nn
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    def intensities(arr):
        arr = as_nchw(arr)
        return arr.astype(np.float32) / 255 if arr.dtype == np.uint8 else arr.astype(np.float32)

    x = torch.from_numpy(intensities(read_stream(a.train_images)))
    if a.loss == "bce":
        y = torch.from_numpy((as_nchw(read_stream(a.train_masks)) != 0).astype(np.float32))
    else:
        y = torch.from_numpy(intensities(read_stream(a.train_masks)))
    xt = torch.from_numpy(intensities(read_stream(a.test_images)))
    if x.shape[0] != y.shape[0] or x.shape[2:] != y.shape[2:]:
        sys.exit("unet_torch.py: images %s and targets %s differ" % (tuple(x.shape), tuple(y.shape)))
    H, W = x.shape[2], x.shape[3]
    net = build_unet(in_ch=x.shape[1], out_ch=y.shape[1], filters=a.filters)
    nparams = sum(p.numel() for p in net.parameters())
    if a.filters == 16 and y.shape[1] == 1 and x.shape[1] == 1:
        assert nparams == EXPECTED_PARAMS, "parameter count %d != %d" % (nparams, EXPECTED_PARAMS)
    assert sum(p.numel() for p in net.ordered_parameters()) == nparams
    fwd = unet_flops(in_ch=x.shape[1], out_ch=y.shape[1], filters=a.filters, H=H, W=W)
    mf = measured_flops(net, H, W)
    assert mf == fwd, "FLOPs from hooks %d != analytic %d" % (mf, fwd)
    amp = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.precision == "bf16" else \
        (lambda: torch.autocast("cpu", enabled=False))
    n = x.shape[0]
    B = a.batch

    print("torch_version\t%s" % torch.__version__)
    print("torch_threads\t%d" % torch.get_num_threads())
    cfg = torch.__config__.show()
    for key, name in (("BLAS_INFO=", "torch_blas"), ("CPU capability usage: ", "torch_cpu_capability")):
        if key in cfg:
            print("%s\t%s" % (name, cfg.split(key, 1)[1].split(",")[0].split("\n")[0].strip()))
    print("torch_mkldnn\t%s" % torch.backends.mkldnn.is_available())
    print("unet_params\t%d" % nparams)
    print("unet_forward_flop\t%d" % fwd)
    print("torch_precision\t%s" % a.precision)
    sys.stdout.flush()

    loss_fn = nn.BCEWithLogitsLoss() if a.loss == "bce" else nn.MSELoss()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()

    def step(i):
        s = (i * B) % (n - B + 1)
        xb, yb = x[s:s + B], y[s:s + B]
        opt.zero_grad(set_to_none=True)
        with amp():
            out = net(xb)
        loss = loss_fn(out.float(), yb)
        loss.backward()
        opt.step()
        return loss

    for i in range(a.warmup):
        step(i)
    nb = max(1, a.images // B)
    times = []
    t0 = time.perf_counter()
    for i in range(a.warmup, a.warmup + nb):
        tb = time.perf_counter()
        loss = step(i)
        times.append(time.perf_counter() - tb)
    float(loss)
    t = time.perf_counter() - t0
    print("torch_train_img_s\t%.1f" % (nb * B / t))
    # the median batch: less sensitive to other work on a shared machine
    print("torch_train_img_s_median_batch\t%.1f" % (B / float(np.median(times))))
    print("torch_train_images\t%d" % (nb * B))
    print("torch_train_loss\t%.4f" % float(loss))
    sys.stdout.flush()

    net.eval()
    PB = a.predict_batch
    with torch.no_grad(), amp():
        net(xt[:PB])    # warm-up
        t0 = time.perf_counter()
        for s in range(0, xt.shape[0], PB):
            o = net(xt[s:s + PB]).float()
            if a.loss == "bce":
                torch.sigmoid(o)
        t = time.perf_counter() - t0
    print("torch_predict_img_s\t%.1f" % (xt.shape[0] / t))
    print("torch_predict_images\t%d" % xt.shape[0])
    print("torch_predict_batch\t%d" % PB)


if __name__ == "__main__":
    main()
