#!/usr/bin/env bats
# stack: checked against numpy.concatenate along the channel axis (exact).
load helper
bats_require_minimum_version 1.5.0

setup() {
	T="$BATS_TEST_TMPDIR"
	pick -n 20 "$IMAGES" > "$T/i.npy"
	"$PY" -c "
import numpy as np
r = np.random.default_rng(2)
np.save('$T/f.npy', r.random((20, 3, 28, 28), dtype=np.float32))
np.save('$T/u3.npy', r.integers(0, 256, (20, 3, 28, 28), dtype=np.uint8))
np.save('$T/small.npy', np.zeros((20, 32, 32), np.uint8))"
}

@test "stack: --help and --version" {
	run stack --help
	assert_success
	assert_output --partial "Usage: stack"
	run stack --version
	assert_success
	assert_output --regexp "^stack \(segpipe\) [0-9.]+$"
}

@test "stack: (H,W)+(H,W) -> (2,H,W), uint8 kept" {
	pick -r 100:120 "$IMAGES" > "$T/j.npy"
	stack "$T/i.npy" "$T/j.npy" > "$T/a.npy"
	run pyck "a.dtype == np.uint8 and a.shape == (20, 2, 28, 28) and np.array_equal(a[:, 0], img[:20]) and np.array_equal(a[:, 1], img[100:120])" "$T/a.npy"
	assert_output True
}

@test "stack: (C1,H,W)+(H,W)+(C2,H,W) in operand order" {
	stack "$T/u3.npy" "$T/i.npy" "$T/u3.npy" > "$T/a.npy"
	run pyck "a.dtype == np.uint8 and np.array_equal(a, np.concatenate([b, img[:20, None], b], axis=1))" "$T/a.npy" "$T/u3.npy"
	assert_output True
}

@test "stack: any float input makes float32 intensities (tolerance 1e-7)" {
	stack "$T/i.npy" "$T/f.npy" > "$T/a.npy"
	run pyck "a.dtype == np.float32 and a.shape == (20, 4, 28, 28) and np.array_equal(a[:, 1:], b) and np.abs(a[:, 0] - img[:20] / 255.0).max() < 1e-7" "$T/a.npy" "$T/f.npy"
	assert_output True
}

@test "stack: standard input as one operand, PAM output" {
	pick -n 20 "$IMAGES" | stack - "$T/i.npy" > "$T/a.npy"
	stack "$T/i.npy" "$T/i.npy" | cmp - "$T/a.npy"
	stack -P "$T/i.npy" "$T/i.npy" > "$T/a.pam"
	run sh -c "pamfile -allimages '$T/a.pam' | grep -c 'PAM, 28 by 28 by 2 maxval 255'"
	assert_output 20
}

@test "stack: bad input" {
	pick -n 19 "$IMAGES" > "$T/short.npy"
	run -1 stack "$T/i.npy" "$T/short.npy"
	assert_output "stack: $T/short.npy ends after 19 samples, before $T/i.npy"
	run -1 stack "$T/short.npy" "$T/i.npy"
	assert_output "stack: $T/short.npy ends after 19 samples, before $T/i.npy"
	run -1 stack "$T/i.npy" "$T/small.npy"
	assert_output --regexp "^stack: image sizes differ: $T/i.npy is 28x28, $T/small.npy is 32x32$"
	run -1 stack "$T/i.npy" "$LABELS"
	assert_output --regexp '^stack: samples of shape scalar are not images'
	assert_equal "${#lines[@]}" 1
	run -1 stack "$T/i.npy" "$T/missing"
	assert_output --regexp '^stack: cannot open'
	assert_equal "${#lines[@]}" 1
	for args in "$T/i.npy" "" "- -" "--bogus a b"; do
		run -2 stack $args
		assert_line --index 0 --regexp '^stack: '
	done
}
