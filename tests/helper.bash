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

# py SCRIPT ARGS...: run the python SCRIPT (-: read from stdin) with ARGS as
# sys.argv[1:], after `from segpipe_np import *` (tests/segpipe_np.py: numpy
# as np, load(path) for streams, read_model(path) for model files, ...) and
# after $PY_DEFS, the python definitions a .bats file may add of its own.
py() {
	local script=$1
	shift
	[ "$script" != - ] || script=$(cat)
	PYTHONPATH="$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 \
		"$PY" -c "from segpipe_np import *
${PY_DEFS-}
$script" "$@"
}

# npy_eval FILE EXPR: print EXPR over the stream in FILE loaded as array `a`.
npy_eval() {
	py 'a = load(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

# pyck EXPR [FILE...]: print EXPR with `img` (500,28,28) u8 and `lab` (500,)
# u8 read from the fixtures by numpy, and a, b, c... the given streams.
pyck() {
	py 'eval_streams(*sys.argv[1:])' "$IMAGES" "$LABELS" "$@"
}

# MEMLIMIT: a shell command that caps the memory of what follows at about
# 1 GB. Under `make sanitize` (SEGPIPE_SANITIZE=1) AddressSanitizer's shadow
# memory rules out ulimit -v, so ASan's own limits do it: one allocation
# over 1000 MB, or a resident set over 1000 MB, is a sanitizer error.
if [ -n "${SEGPIPE_SANITIZE:-}" ]; then
	MEMLIMIT='export ASAN_OPTIONS="$ASAN_OPTIONS:max_allocation_size_mb=1000:hard_rss_limit_mb=1000"'
else
	MEMLIMIT='ulimit -v 1000000'
fi

# model_edit MODEL OUT OLD NEW: MODEL with the header line OLD replaced by
# NEW (NEW empty: removed, OLD empty: NEW added before the end of the
# header), its checksum made right again, written to OUT.
model_edit() {
	"$PY" -c '
import sys, zlib
d = open(sys.argv[1], "rb").read()[:-4]
head, _, body = d.partition(b"\n\n")
lines = head.split(b"\n")
old, new = sys.argv[3].encode(), sys.argv[4].encode()
if old:
    assert old in lines, old
    i = lines.index(old)
    lines[i:i + 1] = [new] if new else []
else:
    lines.append(new)
d = b"\n".join(lines) + b"\n\n" + body
open(sys.argv[2], "wb").write(d + zlib.crc32(d).to_bytes(4, "little"))' "$@"
}
