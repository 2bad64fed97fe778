#!/usr/bin/env bats
# clip: checked against numpy.clip (exact: clamping rounds nothing).
load helper
bats_require_minimum_version 1.5.0

setup() {
	T="$BATS_TEST_TMPDIR"
	"$PY" -c "
import numpy as np
r = np.random.default_rng(5)
a = (r.random((7, 2, 4, 5), dtype=np.float32) * 3 - 1)
a[0, 0, 0, 0] = np.nan
np.save('$T/f.npy', a)"
}

@test "clip: --help and --version" {
	run clip --help
	assert_success
	assert_output --partial "Usage: clip"
	run clip --version
	assert_success
	assert_output --regexp "^clip \(segpipe\) [0-9.]+$"
}

@test "clip: [0,1] by default, -l and -u move the bounds, NaN stays" {
	clip "$T/f.npy" > "$T/a.npy"
	clip --low -0.5 --high 1.5 < "$T/f.npy" > "$T/b.npy"
	run pyck "a.shape == c.shape and a.dtype == np.float32 and np.array_equal(a, np.clip(c, 0, 1), equal_nan=True) and np.array_equal(b, np.clip(c, -0.5, 1.5), equal_nan=True) and np.isnan(a[0, 0, 0, 0])" "$T/a.npy" "$T/b.npy" "$T/f.npy"
	assert_output True
}

@test "clip: uint8 images are intensities, unchanged by [0,1]; -P writes PGM" {
	pick -n 20 "$IMAGES" | clip > "$T/a.npy"
	# the stream layer divides by 255 in float32: within 1e-7
	run pyck "a.dtype == np.float32 and np.abs(a - img[:20] / 255.0).max() <= 1e-7" "$T/a.npy"
	assert_output True
	pick -n 3 "$IMAGES" | clip -P | pamfile -allimages | grep -c PGM | grep -qx 3
}

@test "clip: bad input and usage errors" {
	printf 'hello world' > "$T/junk"
	run -1 clip "$T/junk"
	assert_output --regexp '^clip: '
	assert_equal "${#lines[@]}" 1
	run -1 clip "$T/missing.npy"
	assert_output --regexp '^clip: cannot open'
	for args in "-l 2 -u 1" "-l x" "--bogus" "a b"; do
		run -2 clip $args
		assert_line --index 0 --regexp '^clip: '
	done
}
