#!/usr/bin/env bats
# pad: checked against numpy.pad and slicing (exact: integers and copied floats).
load helper
bats_require_minimum_version 1.5.0

setup() {
	T="$BATS_TEST_TMPDIR"
	"$PY" -c "import numpy as np; np.save('$T/f.npy', np.random.default_rng(1).random((4, 3, 5, 6), dtype=np.float32))"
}

@test "pad: --help and --version" {
	run pad --help
	assert_success
	assert_output --partial "Usage: pad"
	run pad --version
	assert_success
	assert_output --regexp "^pad \(segpipe\) [0-9.]+$"
}

@test "pad: 28x28 -> 32x32 is numpy.pad by 2, uint8 kept" {
	pad "$IMAGES" > "$T/a.npy"
	run pyck "a.dtype == np.uint8 and a.shape == (500, 32, 32) and np.array_equal(a, np.pad(img, ((0, 0), (2, 2), (2, 2))))" "$T/a.npy"
	assert_output True
}

@test "pad: odd differences put the extra pixel bottom/right; -f fills" {
	pad --size 31x30 -f 200 "$IMAGES" > "$T/a.npy"
	run pyck "a.shape == (500, 30, 31) and np.array_equal(a, np.pad(img, ((0, 0), (1, 1), (1, 2)), constant_values=200))" "$T/a.npy"
	assert_output True
}

@test "pad: (C,H,W) float channel by channel, float32 out" {
	pad -S 9x8 -f 0.25 "$T/f.npy" > "$T/a.npy"
	run pyck "a.dtype == np.float32 and np.array_equal(a, np.pad(b, ((0, 0), (0, 0), (1, 2), (1, 2)), constant_values=np.float32(0.25)))" "$T/a.npy" "$T/f.npy"
	assert_output True
	pad --crop -S 3x2 "$T/f.npy" > "$T/a.npy"
	run pyck "a.shape == (4, 3, 2, 3) and np.array_equal(a, b[:, :, 1:3, 1:4])" "$T/a.npy" "$T/f.npy"
	assert_output True
}

@test "pad: pad then --crop gives the input back byte for byte" {
	pick "$IMAGES" > "$T/in.npy"
	pad -S 33x35 "$T/in.npy" | pad --crop --size 28x28 > "$T/back.npy"
	cmp "$T/in.npy" "$T/back.npy"
	pad -S 12x7 -f 0.5 "$T/f.npy" | pad --crop -S 6x5 > "$T/back.npy"
	pick "$T/f.npy" > "$T/in.npy"
	cmp "$T/in.npy" "$T/back.npy"
	# the same size both ways is the identity
	pick "$IMAGES" > "$T/in.npy"
	pad -S 28x28 "$IMAGES" | cmp - "$T/in.npy"
	pad --crop -S 28x28 "$IMAGES" | cmp - "$T/in.npy"
}

@test "pad: -P writes PGM" {
	pick -n 2 "$IMAGES" | pad -P > "$T/a.pgm"
	run pamfile -allimages "$T/a.pgm"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 1 --partial "PGM raw, 32 by 32  maxval 255"
}

@test "pad: bad input" {
	run -1 pad -S 20x40 "$IMAGES"
	assert_output --regexp '^pad: cannot pad 28x28 to 20x40'
	assert_equal "${#lines[@]}" 1
	run -1 pad --crop -S 29x28 "$IMAGES"
	assert_output --regexp '^pad: cannot crop 28x28 to 29x28'
	assert_equal "${#lines[@]}" 1
	run -1 pad "$LABELS"
	assert_output --regexp '^pad: samples of shape scalar are not images'
	assert_equal "${#lines[@]}" 1
	for f in 256 -1 0.5; do
		run -1 pad -f "$f" "$IMAGES"
		assert_output --regexp '^pad: fill value .* does not fit a uint8 stream'
		assert_equal "${#lines[@]}" 1
	done
	run -1 pad "$T/missing"
	assert_output --regexp '^pad: cannot open'
	assert_equal "${#lines[@]}" 1
	for args in "-S 32" "-S 0x5" "-S axb" "-f x" "--bogus" "a b"; do
		run -2 pad $args
		assert_line --index 0 --regexp '^pad: '
	done
}
