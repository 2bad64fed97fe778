#!/usr/bin/env bats
load helper

# PY_DEFS: this file's own python, run before each py SCRIPT (helper.bash):
# place(n, seed, N), the digit placements of compose, replayed with an
# independent Python copy of segpipe's random numbers (splitmix64-seeded
# xoshiro256**, rejection sampling in rng_below).
PY_DEFS=$(cat <<'PYEOF'
M = (1 << 64) - 1
class Rng:
    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9e3779b97f4a7c15) & M
            z = seed
            z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
            z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
            self.s.append(z ^ (z >> 31))
    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M
        r = (rotl((s[1] * 5) & M, 7) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
        return r
    def below(self, n):
        if n <= 1:
            return 0
        limit = M - M % n
        while True:
            x = self.next()
            if x < limit:
                return x % n
# place: per canvas, the digits that fit: (image index, x0, y0); 2..3 drawn,
# digit i at x = 28 i + 0..9, y = 0..36, kept only when inside the 84 columns
def place(n, seed, N):
    r = Rng(seed); out = []
    for _ in range(n):
        nd = 2 + r.below(2); ds = []
        for d in range(nd):
            k = r.below(N); x0 = 28 * d + r.below(10); y0 = r.below(37)
            if x0 + 28 <= 84:
                ds.append((k, x0, y0))
        out.append(ds)
    return out
PYEOF
)

setup() {
	T="$BATS_TEST_TMPDIR"
}

@test "compose: --help and --version" {
	run compose --help
	assert_success
	assert_output --partial "Usage: compose"
	run compose --version
	assert_success
	assert_output --regexp "^compose \(segpipe\) [0-9.]+$"
}

@test "compose: 64x84 uint8 canvases, class maps in 0..10, one per canvas" {
	compose -n 40 -s 5 -m "$T/c.npy" "$IMAGES" "$LABELS" > "$T/x.npy"
	run py '
x = load(sys.argv[1]); c = load(sys.argv[2])
print(x.shape, x.dtype, c.shape, c.dtype, int(c.min()), int(c.max()) <= 10)' "$T/x.npy" "$T/c.npy"
	assert_success
	assert_output "(40, 64, 84) uint8 (40, 64, 84) uint8 0 True"
}

@test "compose --label nonzero: class maps agree with the canvases and the fixture labels" {
	# Against the placements replayed in Python: each canvas is the pixelwise
	# maximum of its digits (exact); a pixel has a class exactly where the
	# canvas is nonzero; each class pixel c lies on a placed digit labelled
	# c-1 that is nonzero there; at most 3 distinct classes per canvas.
	compose -n 60 -s 11 --label nonzero -m "$T/c.npy" "$IMAGES" "$LABELS" > "$T/x.npy"
	run py '
x = load(sys.argv[1]); c = load(sys.argv[2])
img = load(sys.argv[3]); lab = load(sys.argv[4])
bad = []; ndig = []
for i, ds in enumerate(place(len(x), 11, len(img))):
    want = np.zeros((64, 84), np.uint8)
    ok = np.zeros((64, 84), bool)
    for k, x0, y0 in ds:
        win = (slice(y0, y0 + 28), slice(x0, x0 + 28))
        want[win] = np.maximum(want[win], img[k])
        ok[win] |= (img[k] > 0) & (c[i][win] == lab[k] + 1)
    cls = c[i] > 0
    if not (np.array_equal(x[i], want) and np.array_equal(cls, x[i] > 0)
            and ok[cls].all() and len(np.unique(c[i][cls])) <= 3):
        bad.append(i)
    ndig.append(len(ds))
print("bad", bad, "digits", min(ndig), max(ndig))' "$T/x.npy" "$T/c.npy" "$IMAGES" "$LABELS"
	assert_success
	# 2 or 3 digits drawn; a third fits only at offset 0, so some canvases hold 1
	assert_output --regexp '^bad \[\] digits [12] [23]$'
}

@test "compose: where digits overlap, the brightest one's class wins" {
	# Hand-made digits that fill their 28x28 box (digit k of value 10 + 20 k,
	# labelled 9 - k), so boxes overlap often. The winner is the first of
	# equally bright digits in placement order.
	"$PY" -c '
import numpy as np
np.save("'"$T/img.npy"'", np.array([np.full((28, 28), 10 + 20 * k, np.uint8) for k in range(10)]))
np.save("'"$T/lab.npy"'", np.arange(9, -1, -1).astype(np.uint8))'
	compose -n 200 -s 11 --digits 3 -m "$T/c.npy" "$T/img.npy" "$T/lab.npy" > "$T/x.npy"
	run py '
x = load(sys.argv[1]); c = load(sys.argv[2])
img = load(sys.argv[3]); lab = load(sys.argv[4])
overlaps = 0; bad = 0
r = Rng(11)
for i in range(len(x)):
    ds = []
    for d in range(3):
        k = r.below(10); x0 = 28 * d + r.below(10); y0 = r.below(37)
        if x0 + 28 <= 84:
            ds.append((k, x0, y0))
    v = np.zeros((len(ds), 64, 84), np.int32)
    for j, (k, x0, y0) in enumerate(ds):
        v[j, y0:y0 + 28, x0:x0 + 28] = img[k]
    labs = np.array([lab[k] for k, _, _ in ds])
    want = np.where(v.max(0) > 0, labs[v.argmax(0)] + 1, 0)
    overlaps += int(((v > 0).sum(0) > 1).sum())
    bad += int((c[i] != want).sum()) + int((x[i] != v.max(0)).sum())
print(overlaps > 1000, bad)' "$T/x.npy" "$T/c.npy" "$T/img.npy" "$T/lab.npy"
	assert_success
	assert_output "True 0"
}

@test "compose: same seed, same bytes; another seed, other canvases" {
	compose -n 30 -s 4 -m "$T/c1.npy" "$IMAGES" "$LABELS" > "$T/x1.npy"
	compose -n 30 -s 4 -m "$T/c2.npy" "$IMAGES" "$LABELS" > "$T/x2.npy"
	compose -n 30 -s 5 -m "$T/c3.npy" "$IMAGES" "$LABELS" > "$T/x3.npy"
	cmp "$T/x1.npy" "$T/x2.npy"
	cmp "$T/c1.npy" "$T/c2.npy"
	run cmp -s "$T/x1.npy" "$T/x3.npy"
	assert_failure
	# the default seed is fixed too
	compose -n 5 -m "$T/c4.npy" "$IMAGES" "$LABELS" > "$T/x4.npy"
	compose -n 5 -m "$T/c5.npy" "$IMAGES" "$LABELS" > "$T/x5.npy"
	cmp "$T/x4.npy" "$T/x5.npy"
}

@test "compose --label otsu: fewer foreground pixels than nonzero, a subset of them" {
	compose -n 40 -s 2 --label nonzero -m "$T/cn.npy" "$IMAGES" "$LABELS" > "$T/xn.npy"
	compose -n 40 -s 2 --label otsu -m "$T/co.npy" "$IMAGES" "$LABELS" > "$T/xo.npy"
	# the same placements, so the same canvases
	cmp "$T/xn.npy" "$T/xo.npy"
	run py '
n = load(sys.argv[1]) > 0; o = load(sys.argv[2]) > 0
print(int(o.sum()) < int(n.sum()), bool((o & ~n).any()), int(o.sum()) > 0)' "$T/cn.npy" "$T/co.npy"
	assert_success
	assert_output "True False True"
}

@test "compose --digits 2 and -P: two digits per canvas, a PGM stream netpbm reads" {
	compose -n 4 -s 1 --digits 2 -P -m "$T/c.npy" "$IMAGES" "$LABELS" > "$T/x.pgm"
	run pamfile -allimages "$T/x.pgm"
	assert_success
	assert_equal "${#lines[@]}" 4
	assert_line --index 3 --partial "Image 3:	PGM raw, 84 by 64"
	pnmtopng < "$T/x.pgm" > "$T/x.png"
	[ -s "$T/x.png" ]
}

@test "compose: errors" {
	run compose "$IMAGES" "$LABELS"
	assert_failure 2
	assert_line --index 0 --regexp '^compose: .*-m'
	# 500 images, 100 labels
	"$PY" -c '
import gzip, numpy as np
raw = gzip.decompress(open("'"$LABELS"'", "rb").read())
np.save("'"$T/lab100.npy"'", np.frombuffer(raw, np.uint8, offset=8)[:100])
np.save("'"$T/small.npy"'", np.zeros((10, 20, 20), np.uint8))
np.save("'"$T/lab10.npy"'", np.zeros(10, np.uint8))'
	run compose -n 2 -m "$T/c.npy" "$IMAGES" "$T/lab100.npy"
	assert_failure 1
	assert_output --regexp '^compose: .*100 labels for 500 images'
	assert_equal "${#lines[@]}" 1
	run compose -n 2 -m "$T/c.npy" "$T/small.npy" "$T/lab10.npy"
	assert_failure 1
	assert_output --regexp '^compose: .*28x28'
	assert_equal "${#lines[@]}" 1
	# a failed run leaves no class map behind
	[ ! -e "$T/c.npy" ]
}
