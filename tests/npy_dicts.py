# tests/npy_dicts.py BIN: .npy headers written by hand, each read by numpy
# (numpy.lib.format.read_array) and by BIN/totsv; both must accept it, with
# the same values, or both refuse it. Prints one line per disagreement.
import io, struct, subprocess, sys
import numpy as np
from numpy.lib import format as fm

base = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
dicts = [
    base,
    '{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}',
    "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
    "{'descr':'<f4','fortran_order':False,'shape':(2,3)}",
    "{\n 'descr': '<f4',\n\t'fortran_order': False,  # a comment\n 'shape': (2, 3),\n}",
    "  {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': u'<f4', 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': r'<f4', 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': '<' 'f4', 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': '\\x3cf4', 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': '|u1', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': ((2, 3))}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (0x2, 0b11)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (+2, 3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, '3')}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
    "{'descr': '<f4', 'shape': (2, 3)}",
    "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}",
    "{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 3)}",
    "{'descr': '<f4', 'fortran_order': None, 'shape': (2, 3)}",
    "{'descr': <f4, 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3),, }",
    "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': \"'descr': '|u1'\"}",
    "{'x': \"'descr': '|u1', \", 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': \"'descr': '|u1'\", 'fortran_order': False, 'shape': (2, 3)}",
    "{'notdescr': '|u1', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'fortran_order': True}",
    "{descr: '<f4', 'fortran_order': False, 'shape': (2, 3)}",
    "['descr', '<f4']",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} # done",
    "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2, 3)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}\0",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1_2,)}",
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1__2,)}",
    "{'descr': ['<f4'], 'fortran_order': False, 'shape': (2, 3)}",
]

tool = sys.argv[1] + '/totsv'
bad = 0
for d in dicts:
    h = d.encode('latin1')
    h += b' ' * ((-(10 + len(h) + 1)) % 64) + b'\n'
    blob = b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h
    try:
        f = io.BytesIO(blob)
        fm.read_magic(f)
        shape, fortran, dt = fm.read_array_header_1_0(f)
        theirs = np.arange(int(np.prod(shape))).astype(dt).reshape(shape)
        data = theirs.tobytes()
    except Exception:
        theirs, fortran, data = None, False, bytes(24)
    ours = subprocess.run([tool, '--precision', '9', '-'], input=blob + data, capture_output=True)
    supported = (theirs is not None and not fortran and theirs.dtype.kind in 'fiub'
                 and 0 < theirs.ndim <= 4 and 0 not in theirs.shape[1:])
    if not supported:
        if ours.returncode != 1 or ours.stderr.count(b'\n') != 1:
            print('numpy refuses or we do not read it, but totsv exits %d: %r'
                  % (ours.returncode, d)); bad += 1
        continue
    rows = theirs.reshape(len(theirs), -1).astype(np.float64)
    want = ''.join('\t'.join('%.9g' % v for v in r) + '\n' for r in rows)
    if ours.returncode != 0 or ours.stdout.decode() != want:
        print('numpy reads it, totsv does not (exit %d, %s): %r'
              % (ours.returncode, ours.stderr.decode().strip(), d)); bad += 1
print('%d headers, %d disagreements' % (len(dicts), bad))
sys.exit(1 if bad else 0)
