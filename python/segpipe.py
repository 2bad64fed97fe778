"""segpipe.py: segpipe's streams and model files as numpy arrays.

A stream (segpipe-stream(5)) is what the tools read and write: .npy arrays
back to back (one array when a tool wrote a regular file, several records
through a pipe), netpbm images back to back, or an IDX file, each plain or
gzip; an .npz archive is read by name. This module reads any of them from
a file name, '-' (standard input) or an open binary file, pipes included
(it never seeks):

    import segpipe
    masks = segpipe.load('masks.npy')              # the whole stream
    for batch in segpipe.batches('-', 256):        # at most 256 samples each
        ...
    m = segpipe.load_model('fg.model')             # header, parameters, layers

and writes arrays for the tools with segpipe.save (np.save does too).
Installed by `make install` into PYTHONDIR; needs only numpy.
"""
import ast
import gzip
import io
import re
import sys
import zlib

import numpy as np

__all__ = ['load', 'batches', 'records', 'save', 'load_model', 'Model']

_DESCRS = {'u1', 'i1', 'b1', 'u2', 'i2', 'u4', 'i4', 'u8', 'i8', 'f4', 'f8'}


class _Reader:
    """Exact reads from a binary file object that may be a pipe, with a
    few bytes of look-ahead to recognise the format."""

    def __init__(self, f):
        self.f, self.buf = f, b''

    def peek(self, n):
        while len(self.buf) < n:
            b = self.f.read(n - len(self.buf))
            if not b:
                break
            self.buf += b
        return self.buf[:n]

    def read(self, n):
        out = [self.buf[:n]]
        got = len(out[0])
        self.buf = self.buf[n:]
        while got < n:
            b = self.f.read(n - got)
            if not b:
                break
            out.append(b)
            got += len(b)
        return b''.join(out)

    def exact(self, n, what):
        b = self.read(n)
        if len(b) != n:
            raise ValueError('truncated %s: %d of %d bytes' % (what, len(b), n))
        return b


def _open(src):
    """(file object, close it?) for a name, '-', or a file object; gzip
    is recognised by its magic and inflated as it is read"""
    if isinstance(src, (str, bytes)) or hasattr(src, '__fspath__'):
        if src in ('-', b'-'):
            f, own = sys.stdin.buffer, False
        else:
            f, own = open(src, 'rb'), True
    else:
        f, own = src, False
    r = _Reader(f)
    if r.peek(2) == b'\x1f\x8b':
        # GzipFile reads member after member and never needs to seek
        g = gzip.GzipFile(fileobj=_Replay(r), mode='rb')
        return _Reader(g), (f if own else None)
    return r, (f if own else None)


class _Replay(io.RawIOBase):
    """The bytes of a _Reader as a raw stream (for GzipFile)."""

    def __init__(self, r):
        self.r = r

    def readable(self):
        return True

    def readinto(self, b):
        d = self.r.read(len(b))
        b[:len(d)] = d
        return len(d)


def _npy_header(r):
    """dtype, shape of the next .npy record, after its magic"""
    ver = r.exact(2, 'npy header')
    if ver[0] == 1:
        hlen = int.from_bytes(r.exact(2, 'npy header'), 'little')
    elif ver[0] in (2, 3):
        hlen = int.from_bytes(r.exact(4, 'npy header'), 'little')
    else:
        raise ValueError('npy format version %d.%d is not supported' % tuple(ver))
    text = r.exact(hlen, 'npy header').decode('utf8' if ver[0] == 3 else 'latin1')
    d = ast.literal_eval(text)
    if not isinstance(d, dict) or set(d) != {'descr', 'fortran_order', 'shape'}:
        raise ValueError('malformed npy header: %r' % text)
    if d['fortran_order']:
        raise ValueError('npy array in Fortran order is not supported')
    descr = d['descr']
    if not isinstance(descr, str) or descr[1:] not in _DESCRS or descr[0] not in '<>|=':
        raise ValueError('unsupported npy dtype %r' % (descr,))
    return np.dtype(descr), tuple(d['shape'])


def _netpbm_header(r):
    """width, height, depth, maxval of the next raw netpbm image (P4, P5,
    P6, P7), reading its header byte by byte"""
    magic = r.exact(2, 'netpbm header')
    if magic == b'P7':
        fields = {}
        line = b''
        while True:
            c = r.exact(1, 'PAM header')
            if c != b'\n':
                line += c
                continue
            words = line.split(b'#')[0].split()
            line = b''
            if not words:
                continue
            if words[0] == b'ENDHDR':
                break
            fields[words[0]] = words[1:]
        return (int(fields[b'WIDTH'][0]), int(fields[b'HEIGHT'][0]),
                int(fields[b'DEPTH'][0]), int(fields[b'MAXVAL'][0]))
    if magic not in (b'P4', b'P5', b'P6'):
        raise ValueError('netpbm %s (plain) is not read here; convert it with '
                         'pnmtopnm or pamtopam' % magic.decode())
    want = 2 if magic == b'P4' else 3
    nums, tok = [], b''
    while len(nums) < want:
        c = r.exact(1, 'netpbm header')
        if c == b'#':
            while r.exact(1, 'netpbm header') != b'\n':
                pass
            c = b' '
        if c.isspace():
            if tok:
                nums.append(int(tok))
                tok = b''
        else:
            tok += c
    # one whitespace byte ended the last number
    if magic == b'P4':
        return nums[0], nums[1], 0, 1
    return nums[0], nums[1], 3 if magic == b'P6' else 1, nums[2]


def records(src, batch=None):
    """The arrays of a stream one after another: its .npy records as they
    are (with batch: pieces of at most batch samples), one array of one
    image per netpbm image, the IDX file's array (in pieces with batch).
    src: a file name, '-' for standard input, or a binary file object
    (a pipe works: nothing seeks). 'FILE.npz' or 'FILE.npz:NAME' reads an
    archive's first array or array NAME."""
    if isinstance(src, str) and (src.endswith('.npz') or '.npz:' in src):
        yield from _npz(src, batch)
        return
    r, own = _open(src)
    try:
        head = r.peek(4)
        if not head:
            return
        if head[:1] == b'\x93':
            while r.peek(1):
                if r.exact(6, 'npy magic') != b'\x93NUMPY':
                    raise ValueError('junk after the last array')
                dt, shape = _npy_header(r)
                yield from _data(r, dt, shape, batch)
        elif head[:1] == b'P':
            while r.peek(1):
                w, h, d, mx = _netpbm_header(r)
                if d == 0:   # PBM: rows of bits, 1 is black
                    row = (w + 7) // 8
                    bits = np.frombuffer(r.exact(row * h, 'PBM data'), np.uint8)
                    a = 1 - np.unpackbits(bits.reshape(h, row), axis=1)[:, :w]
                    img = a.astype(np.uint8)
                else:
                    dt = np.dtype(np.uint8 if mx < 256 else '>u2')
                    a = np.frombuffer(r.exact(w * h * d * dt.itemsize, 'netpbm data'), dt)
                    img = a.reshape(h, w, d).transpose(2, 0, 1)
                    img = img[0] if d == 1 else img
                yield img[None]
                while r.peek(1).isspace() and r.peek(1):
                    r.read(1)
        elif head[:2] == b'\0\0':
            code, nd = head[2], head[3]
            r.read(4)
            dims = [int.from_bytes(r.exact(4, 'IDX header'), 'big') for _ in range(nd)]
            dt = {8: 'u1', 9: 'i1', 11: '>i2', 12: '>i4', 13: '>f4', 14: '>f8'}[code]
            yield from _data(r, np.dtype(dt), tuple(dims), batch)
        elif head[:2] == b'PK':
            raise ValueError('a zip archive (.npz): give its file name')
        else:
            raise ValueError('not a segpipe stream (npy, netpbm or IDX, plain or gzip)')
    finally:
        if own:
            own.close()


def _data(r, dt, shape, batch):
    n, sample = shape[0], shape[1:]
    size = int(np.prod(sample, dtype=np.int64)) * dt.itemsize
    step = n if not batch else batch
    if n == 0:
        yield np.zeros(shape, dt)
        return
    for i in range(0, n, max(step, 1)):
        k = min(step, n - i)
        yield np.frombuffer(r.exact(k * size, 'data'), dt).reshape((k,) + sample)


def _npz(src, batch):
    path, name = (src.rsplit(':', 1) if '.npz:' in src else (src, ''))
    with np.load(path) as z:
        key = name or z.files[0]
        if key not in z.files and key.endswith('.npy'):
            key = key[:-4]
        a = z[key]
    if not batch:
        yield a
    else:
        for i in range(0, max(len(a), 1), batch):
            yield a[i:i + batch]


def batches(src, n):
    """The samples of a stream in arrays of n samples each (the last may be
    shorter), whatever its records; nothing for an empty stream."""
    pend, have = [], 0
    for a in records(src, n):
        while len(a):
            take = min(n - have, len(a))
            pend.append(a[:take])
            have += take
            a = a[take:]
            if have == n:
                yield _join(pend)
                pend, have = [], 0
    if have:
        yield _join(pend)


def _join(parts):
    if len(parts) == 1:
        return parts[0]
    dt = np.result_type(*parts)
    return np.concatenate([p.astype(dt, copy=False) for p in parts])


def load(src):
    """The whole stream as one array (n, sample shape...); its records
    joined (a dtype that changes gives their common type)."""
    parts = list(records(src))
    if not parts:
        return np.zeros(0)
    if len(parts) > 1:
        parts = [p for p in parts if len(p)] or parts[:1]
    return _join(parts) if len(parts) > 1 else parts[0]


def save(dst, a):
    """a as one .npy array: a file name, '-' (standard output) or a binary
    file object; what every segpipe tool reads."""
    a = np.ascontiguousarray(a)
    if dst == '-':
        np.save(sys.stdout.buffer, a)
    elif isinstance(dst, str):
        with open(dst, 'wb') as f:
            np.save(f, a)
    else:
        np.save(dst, a)


class Model:
    """A segpipe model file (segpipe-model(5)): header (dict of strings),
    params and stats (float32), adam_m/adam_v and the last epoch's
    last_params/last_stats when the file has them, and layers: the
    parameters as named arrays in PyTorch's shapes."""

    def __init__(self, header, params, stats, extra):
        self.header, self.params, self.stats = header, params, stats
        self.adam_m = extra.get('adam_m')
        self.adam_v = extra.get('adam_v')
        self.last_params = extra.get('last_params')
        self.last_stats = extra.get('last_stats')
        self.kind = header['kind']
        self.layers = _layers(header, params)

    def __repr__(self):
        return '<segpipe %s model: %d parameters, %d statistics>' % (
            self.kind, len(self.params), len(self.stats))


def load_model(path):
    """The model file at path as a Model; its CRC-32 and sizes checked."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 or zlib.crc32(data[:-4]) != int.from_bytes(data[-4:], 'little'):
        raise ValueError('%s: bad CRC-32: not a whole segpipe model' % path)
    head, sep, body = data[:-4].partition(b'\n\n')
    lines = head.decode('ascii').split('\n')
    magic = lines[0].split()
    if not sep or len(magic) != 2 or magic[0] != 'segpipe-model':
        raise ValueError('%s: not a segpipe model' % path)
    if int(magic[1]) > 1:
        raise ValueError('%s: model format version %s is newer than this reader (1)'
                         % (path, magic[1]))
    hdr = dict(line.split(' ', 1) for line in lines[1:])
    n, s = int(hdr['nparams']), int(hdr['nstats'])
    adam, resume = int(hdr.get('adam', 0)), int(hdr.get('resume', 0))
    want = n + s + 2 * n * adam + (n + s) * resume
    f = np.frombuffer(body, '<f4')
    if len(body) % 4 or len(f) != want:
        raise ValueError('%s: %d floats where the header says %d' % (path, len(f), want))
    o = n + s
    extra = {}
    if adam:
        extra['adam_m'], extra['adam_v'] = f[o:o + n], f[o + n:o + 2 * n]
        o += 2 * n
    if resume:
        extra['last_params'], extra['last_stats'] = f[o:o + n], f[o + n:o + n + s]
    return Model(hdr, f[:n], f[n:n + s], extra)


def _layers(hdr, p):
    """[(name, array)] in the documented parameter order"""
    shapes = []
    if hdr['kind'] == 'mlp':
        size = [int(v) for v in hdr['layers'].split(',')]
        for i in range(len(size) - 1):
            shapes += [('dense%d.weight' % i, (size[i + 1], size[i])),
                       ('dense%d.bias' % i, (size[i + 1],))]
    elif hdr['kind'] == 'unet':
        cin, cout = int(hdr['in_channels']), int(hdr['out_channels'])
        depth, f = int(hdr['depth']), int(hdr['filters'])
        c = [f * 2 ** l for l in range(depth + 1)]

        def block(name, i, o):
            return [(name + '.conv.weight', (o, i, 3, 3)), (name + '.conv.bias', (o,)),
                    (name + '.bn.weight', (o,)), (name + '.bn.bias', (o,))]
        for l in range(depth):
            shapes += block('enc%d.0' % l, cin if l == 0 else c[l - 1], c[l])
            shapes += block('enc%d.1' % l, c[l], c[l])
        shapes += block('bottleneck.0', c[depth - 1], c[depth])
        shapes += block('bottleneck.1', c[depth], c[depth])
        for l in range(depth - 1, -1, -1):
            shapes += [('dec%d.up.weight' % l, (c[l + 1], c[l], 2, 2)),
                       ('dec%d.up.bias' % l, (c[l],))]
            shapes += block('dec%d.0' % l, 2 * c[l], c[l])
            shapes += block('dec%d.1' % l, c[l], c[l])
        shapes += [('head.weight', (cout, f, 1, 1)), ('head.bias', (cout,))]
    else:
        return []
    out, o = [], 0
    for name, shape in shapes:
        k = int(np.prod(shape))
        out.append((name, p[o:o + k].reshape(shape)))
        o += k
    if o != len(p):
        raise ValueError('the %s layers hold %d parameters, the file %d'
                         % (hdr['kind'], o, len(p)))
    return out
