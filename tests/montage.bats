#!/usr/bin/env bats
# montage: the picture is compared pixel for pixel with a grid built by numpy.
load helper
bats_require_minimum_version 1.5.0

# grid_ok PGM COLS GAP SCALE N [NPY]: True when the PGM equals the grid numpy
# builds from the first N samples of NPY (default: the MNIST fixture),
# channels as tiles, gaps 128; float intensities as round(255 x) (exact).
grid_ok() {
	py - "$IMAGES" "$@" <<'PYEOF'
pgm, cols, gap, s, n = sys.argv[2], *map(int, sys.argv[3:7])
x = load(sys.argv[7] if len(sys.argv) > 7 else sys.argv[1])
x = np.clip(np.rint(x * 255), 0, 255) if x.dtype != np.uint8 else x
x = x[:n].reshape(-1, x.shape[-2], x.shape[-1])     # every channel a tile
h, w = x.shape[1] * s, x.shape[2] * s
rows = -(-len(x) // cols)
g = np.full((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap), 128, np.uint8)
for t, tile in enumerate(x):
    r, c = divmod(t, cols)
    g[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = np.kron(tile, np.ones((s, s)))
data = open(pgm, 'rb').read()
fields = data.split(maxsplit=4)
assert fields[0] == b'P5' and int(fields[3]) == 255
W, H = int(fields[1]), int(fields[2])
got = np.frombuffer(data[len(data) - W * H:], np.uint8).reshape(H, W)
print(got.shape == g.shape and np.array_equal(got, g))
PYEOF
}

setup() {
	T="$BATS_TEST_TMPDIR"
}

@test "montage: --help and --version" {
	run montage --help
	assert_success
	assert_output --partial "Usage: montage"
	run montage --version
	assert_success
	assert_output --regexp "^montage \(segpipe\) [0-9.]+$"
}

@test "montage: default grid of 256 samples, read by pamfile" {
	montage "$IMAGES" > "$T/m.pgm"
	run pamfile "$T/m.pgm"
	assert_output --partial "PGM raw, 463 by 463  maxval 255"   # 16*28 + 15
	run grid_ok "$T/m.pgm" 16 1 1 256
	assert_output True
}

@test "montage: --cols --gap --max --scale" {
	montage --cols 4 --gap 3 --max 10 --scale 2 "$IMAGES" > "$T/m.pgm"
	run pamfile "$T/m.pgm"
	assert_output --partial "PGM raw, 233 by 174  maxval 255"   # 4*56+3*3, 3*56+2*3
	run grid_ok "$T/m.pgm" 4 3 2 10
	assert_output True
	montage --cols 7 -g 0 --max 5 "$IMAGES" > "$T/m.pgm"
	run grid_ok "$T/m.pgm" 7 0 1 5
	assert_output True
}

@test "montage: channels are tiles; floats are round(255 x)" {
	"$PY" -c "
import numpy as np
r = np.random.default_rng(4)
np.save('$T/f.npy', (r.random((3, 2, 5, 6)) * 1.2 - 0.1).astype(np.float32))"
	montage --cols 4 "$T/f.npy" > "$T/m.pgm"
	run grid_ok "$T/m.pgm" 4 1 1 3 "$T/f.npy"
	assert_output True
	# fewer samples than --max: the square that holds the 6 tiles is 3 wide
	montage "$T/f.npy" > "$T/m.pgm"
	run grid_ok "$T/m.pgm" 3 1 1 3 "$T/f.npy"
	assert_output True
	pnmtopng "$T/m.pgm" > /dev/null
}

@test "montage: bad input" {
	run -1 montage "$LABELS"
	assert_output --regexp '^montage: samples of shape scalar are not images'
	assert_equal "${#lines[@]}" 1
	run -1 montage --cols 3000 "$IMAGES"
	assert_output --regexp '^montage: a picture of 86999x28 is too large'
	assert_equal "${#lines[@]}" 1
	run -1 montage "$T/missing"
	assert_output --regexp '^montage: cannot open'
	assert_equal "${#lines[@]}" 1
	for args in "--cols 0" "-g -1" "--max 0" "-z 0" "-z x" "-s 2" "-c 2" "a b" "--bogus"; do
		run -2 montage $args
		assert_line --index 0 --regexp '^montage: '
	done
}

@test "montage --stretch: one grey per class in every tile of a class map" {
	local d=$BATS_TEST_TMPDIR
	# two 2x2 class maps: classes 0,3 and 0,3,7
	py 'np.save(open(sys.argv[1], "wb"), np.array([[[0, 3], [3, 0]], [[0, 3], [7, 0]]], np.uint8))' "$d/c.npy"
	# the picture, 4x2, as totsv prints a PGM: its values, row after row
	run sh -c "montage --stretch --gap 0 --cols 2 '$d/c.npy' | totsv"
	# class 3 is 255 * 3 / 7 = 109 in both tiles, 7 white, 0 black
	assert_output $'0\t109\t0\t109\t109\t0\t255\t0'
	# channels of a (C,H,W) sample each keep their own mapping: a 0/1 mask beside
	py 'np.save(open(sys.argv[1], "wb"), np.array([[[[0, 1], [1, 0]], [[0, 3], [7, 0]]]], np.uint8))' "$d/m.npy"
	run sh -c "montage --stretch --gap 0 --cols 2 '$d/m.npy' | totsv | head -1"
	assert_output $'0\t255\t0\t109\t255\t0\t255\t0'
}
