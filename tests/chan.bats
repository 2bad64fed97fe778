#!/usr/bin/env bats
# chan: checked against numpy fancy indexing on the channel axis (exact).
load helper
bats_require_minimum_version 1.5.0

setup() {
	T="$BATS_TEST_TMPDIR"
	"$PY" -c "
import numpy as np
r = np.random.default_rng(3)
np.save('$T/f.npy', r.random((6, 3, 4, 5), dtype=np.float32))
np.save('$T/u.npy', r.integers(0, 256, (6, 3, 4, 5), dtype=np.uint8))"
}

@test "chan: --help and --version" {
	run chan --help
	assert_success
	assert_output --partial "Usage: chan"
	run chan --version
	assert_success
	assert_output --regexp "^chan \(segpipe\) [0-9.]+$"
}

@test "chan: -c LIST is a[:, LIST], uint8 kept" {
	chan -c 2,0 "$T/u.npy" > "$T/a.npy"
	chan --channels 1,1,0,2 "$T/u.npy" > "$T/b.npy"
	run pyck "a.dtype == np.uint8 and np.array_equal(a, c[:, [2, 0]]) and np.array_equal(b, c[:, [1, 1, 0, 2]])" "$T/a.npy" "$T/b.npy" "$T/u.npy"
	assert_output True
}

@test "chan: one channel gives (H,W); float stays float32" {
	chan -c 1 "$T/f.npy" > "$T/a.npy"
	run pyck "a.dtype == np.float32 and a.shape == (6, 4, 5) and np.array_equal(a, b[:, 1])" "$T/a.npy" "$T/f.npy"
	assert_output True
}

@test "chan: (H,W) has channel 0; stack then chan undoes stack" {
	pick -n 30 "$IMAGES" > "$T/i.npy"
	chan -c 0 "$T/i.npy" | cmp - "$T/i.npy"
	pick -r 30:60 "$IMAGES" > "$T/j.npy"
	stack "$T/i.npy" "$T/j.npy" | chan -c 1 | cmp - "$T/j.npy"
	chan -P -c 0,0 "$T/i.npy" > "$T/a.pam"
	run sh -c "pamfile -allimages '$T/a.pam' | grep -c 'PAM, 28 by 28 by 2 maxval 255'"
	assert_output 30
}

@test "chan: bad input" {
	run -1 chan -c 0,3 "$T/u.npy"
	assert_output "chan: channel 3 out of range: images of shape 3x4x5 have 3 channels ($T/u.npy)"
	run -1 chan -c 1 "$IMAGES"
	assert_output --regexp '^chan: channel 1 out of range'
	assert_equal "${#lines[@]}" 1
	run -1 chan -c 0 "$LABELS"
	assert_output --regexp '^chan: samples of shape scalar are not images'
	assert_equal "${#lines[@]}" 1
	run -1 chan -c 0 "$T/missing"
	assert_output --regexp '^chan: cannot open'
	assert_equal "${#lines[@]}" 1
	for args in "" "-c" "-c -1" "-c 1,,2" "-c x" "-c 0 a b" "--bogus"; do
		run -2 chan $args
		assert_line --index 0 --regexp '^chan: '
	done
}

@test "chan: a uint8 stream that turns float is an error, not a truncation" {
	py "
np.save('$BATS_TEST_TMPDIR/u.npy', np.full((2, 2, 3, 3), 200, np.uint8))
np.save('$BATS_TEST_TMPDIR/f.npy', np.full((2, 2, 3, 3), 0.5, np.float32))"
	cat "$BATS_TEST_TMPDIR/u.npy" "$BATS_TEST_TMPDIR/f.npy" > "$BATS_TEST_TMPDIR/mixed.npy"
	run -1 chan -c 1 "$BATS_TEST_TMPDIR/mixed.npy"
	assert_output --regexp '^chan: a uint8 stream changes dtype; .*mixed.npy, sample 2\)$'
	# float first: everything is float32 intensities, uint8 200 read as 200/255
	cat "$BATS_TEST_TMPDIR/f.npy" "$BATS_TEST_TMPDIR/u.npy" | chan -c 1 > "$BATS_TEST_TMPDIR/out.npy"
	run py "a = load('$BATS_TEST_TMPDIR/out.npy'); print(a.dtype, abs(a[2, 0, 0] - 200 / 255) < 1e-6)"
	assert_output "float32 True"
}
