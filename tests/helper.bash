# tests/helper.bash: loaded by every tests/*.bats.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
PATH="$ROOT/bin:$PATH"
FIX="$ROOT/tests/fixtures"
IMAGES="$FIX/mnist-test-500-images.idx.gz"
LABELS="$FIX/mnist-test-500-labels.idx.gz"
# numpy lives in Debian's python3 (package python3-numpy)
PY=/usr/bin/python3

# npy_eval FILE EXPR: print EXPR over the stream in FILE loaded as array `a`.
npy_eval() {
	"$PY" - "$1" "$2" <<'PYEOF'
import sys, io, gzip, numpy as np
from numpy.lib import format as fm
raw = open(sys.argv[1], 'rb').read()
if raw[:2] == b'\x1f\x8b':
    raw = gzip.decompress(raw)
f = io.BytesIO(raw); parts = []
while f.tell() < len(raw):
    parts.append(fm.read_array(f))
a = np.concatenate(parts)
print(eval(sys.argv[2]))
PYEOF
}
