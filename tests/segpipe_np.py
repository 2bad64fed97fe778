# tests/segpipe_np.py: the numpy side of the bats tests, written from the
# man pages rather than from the C code, so a test compares two independent
# readings of a format. helper.bash's `py SCRIPT ARGS...` runs SCRIPT after
# `from segpipe_np import *`, which also brings in sys, os, io, gzip, re, zlib,
# np and fm (numpy.lib.format).
import sys, os, io, gzip, re, zlib
import numpy as np
from numpy.lib import format as fm

_PGM_HEADER = re.compile(rb'P5\s+(\d+)\s+(\d+)\s+(\d+)\s')


def load(path):
    """One array from a stream file, plain or gzip: npy records back to
    back (segpipe-stream(5)), 8-bit PGM images back to back, or an IDX
    file. An empty file is an empty stream: np.zeros(0)."""
    raw = open(path, 'rb').read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    if not raw:
        return np.zeros(0)
    if raw[:6] == b'\x93NUMPY':
        f = io.BytesIO(raw); parts = []
        while f.tell() < len(raw):
            parts.append(fm.read_array(f))
        return np.concatenate(parts)
    if raw[:2] == b'P5':
        imgs = []; pos = 0
        while pos < len(raw):
            m = _PGM_HEADER.match(raw, pos)
            w, h, mx = map(int, m.groups())
            assert mx == 255
            pos = m.end()
            imgs.append(np.frombuffer(raw, np.uint8, w * h, pos).reshape(h, w))
            pos += w * h
        return np.array(imgs)
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def _model_floats(path):
    """The header dict and every float32 after it (as float64) of a model
    file (segpipe-model(5)): CRC-32 and format version checked."""
    data = open(path, 'rb').read()
    assert zlib.crc32(data[:-4]) == int.from_bytes(data[-4:], 'little')
    head, _, body = data.partition(b'\n\n')
    lines = head.decode().split('\n')
    assert lines[0] == 'segpipe-model 1'
    hdr = dict(l.split(' ', 1) for l in lines[1:])
    return hdr, np.frombuffer(body[:-4], '<f4').astype(np.float64)


def read_model(path):
    """hdr, params (nparams), running statistics (nstats) of a model file."""
    hdr, f = _model_floats(path)
    n, s = int(hdr['nparams']), int(hdr['nstats'])
    return hdr, f[:n], f[n:n + s]


def read_mlp(path):
    """hdr, params of an MLP model file: no statistics; the Adam state and
    the last epoch's copy that may follow (segpipe-model(5)) are checked
    for size and left out."""
    hdr, p = _model_floats(path)
    n = int(hdr['nparams'])
    assert int(hdr['nstats']) == 0
    assert len(p) == n * (1 + 2 * int(hdr['adam']) + int(hdr.get('resume', 0)))
    return hdr, p[:n]


def layers(hdr, p):
    """[(W (out,in), b (out), activation)] of an MLP, in the documented order."""
    s = [int(v) for v in hdr['layers'].split(',')]
    acts = hdr['activations'].split(','); out = []; o = 0
    for i in range(len(s) - 1):
        W = p[o:o + s[i + 1] * s[i]].reshape(s[i + 1], s[i]); o += W.size
        b = p[o:o + s[i + 1]]; o += b.size
        out.append((W, b, acts[i]))
    assert o == len(p)
    return out


def act(z, a):
    """The activation named a (segpipe-model(5) spelling) applied to z."""
    return {'relu': lambda: np.maximum(z, 0), 'sigmoid': lambda: 1 / (1 + np.exp(-z)),
            'tanh': lambda: np.tanh(z), 'none': lambda: z}[a]()


def eval_streams(images, labels, expr, *paths):
    """Print expr evaluated with np, `img` and `lab` loaded from images and
    labels, and a, b, c... the streams in paths."""
    assert len(paths) <= 8
    env = dict(np=np, img=load(images), lab=load(labels))
    env.update(zip('abcdefgh', map(load, paths)))
    print(eval(expr, env))
