#!/usr/bin/env bats
load helper

# stripe_stats: per mask the hidden columns of (N,H,W) masks m; prints
# whether every hidden column is whole, and the sets of widths and lefts.
STRIPES='
def stripes(m):
    cols = m.any(axis=1)                      # (N,W): column has a hidden pixel
    whole = bool(((m == 1).all(axis=1) == cols).all())
    k = cols.sum(axis=1)
    left = cols.argmax(axis=1)
    contiguous = all(cols[i, left[i]:left[i] + k[i]].all() for i in range(len(m)))
    return whole, contiguous, k, left
'

@test "mkmask: --help and --version" {
	run mkmask --help
	assert_success
	assert_output --partial "Usage: mkmask"
	run mkmask --version
	assert_success
	assert_output --regexp "^mkmask \(segpipe\) [0-9.]+$"
}

@test "mkmask vstripe: whole contiguous columns, width in A..B, positions cover the range" {
	mkmask --kind vstripe --size 28x20 --width 3-6 -n 2000 > "$BATS_TEST_TMPDIR/m.npy"
	run py "$STRIPES"'
m = load(sys.argv[1])
whole, contiguous, k, left = stripes(m)
print(m.dtype, m.shape, sorted(np.unique(m).tolist()), whole, contiguous)
print(sorted(set(k.tolist())))
# every left edge 0..28-3 occurs, none past 28-k, the right edge is reached
print(sorted(set(left.tolist())) == list(range(26)), bool((left + k <= 28).all()),
      bool((left + k == 28).any()))' "$BATS_TEST_TMPDIR/m.npy"
	assert_success
	assert_line --index 0 "uint8 (2000, 20, 28) [0, 1] True True"
	assert_line --index 1 "[3, 4, 5, 6]"
	assert_line --index 2 "True True True"
}

@test "mkmask hstripe: whole contiguous rows, a fixed width" {
	mkmask --kind hstripe --size 28x20 --width 5 -n 1000 > "$BATS_TEST_TMPDIR/m.npy"
	run py "$STRIPES"'
m = load(sys.argv[1]).transpose(0, 2, 1)     # rows become columns
whole, contiguous, k, left = stripes(m)
print(whole, contiguous, sorted(set(k.tolist())), sorted(set(left.tolist())) == list(range(16)))' \
		"$BATS_TEST_TMPDIR/m.npy"
	assert_success
	assert_output "True True [5] True"
}

@test "mkmask patch: one k x k square, k in A..B, fully inside, positions vary" {
	mkmask --kind patch --size 28x28 --width 5-21 -n 2000 > "$BATS_TEST_TMPDIR/m.npy"
	run py '
m = load(sys.argv[1])
ok = True; sides = set(); xs = set(); ys = set()
for x in m:
    r = np.flatnonzero(x.any(axis=1)); c = np.flatnonzero(x.any(axis=0))
    h, w = r[-1] - r[0] + 1, c[-1] - c[0] + 1
    ok &= bool(h == w and x.sum() == h * w and x[r[0]:r[-1] + 1, c[0]:c[-1] + 1].all())
    sides.add(int(h)); xs.add(int(c[0])); ys.add(int(r[0]))
print(m.shape, ok, sorted(sides) == list(range(5, 22)), min(xs), max(xs), min(ys), max(ys))' \
		"$BATS_TEST_TMPDIR/m.npy"
	assert_success
	assert_output "(2000, 28, 28) True True 0 23 0 23"
}

@test "mkmask pixels: hidden fraction within 0.01 of F; 0 and 1 are exact" {
	# 200 masks of 784 pixels: the binomial standard deviation of the
	# fraction is sqrt(0.3*0.7/156800) = 0.0012, so 0.01 is over 8 sigma
	mkmask --kind pixels --size 28x28 --fraction 0.3 -n 200 > "$BATS_TEST_TMPDIR/m.npy"
	run npy_eval "$BATS_TEST_TMPDIR/m.npy" \
		'(a.shape, a.dtype.name, abs(a.mean() - 0.3) < 0.01, a.max(), bool((a.mean(axis=(1, 2)) > 0.2).all()))'
	assert_output "((200, 28, 28), 'uint8', True, 1, True)"
	mkmask --kind pixels --size 7x3 --fraction 0 -n 4 > "$BATS_TEST_TMPDIR/zero.npy"
	run npy_eval "$BATS_TEST_TMPDIR/zero.npy" '(a.shape, int(a.sum()))'
	assert_output "((4, 3, 7), 0)"
	mkmask --kind pixels --size 7x3 --fraction 1 -n 4 > "$BATS_TEST_TMPDIR/one.npy"
	run npy_eval "$BATS_TEST_TMPDIR/one.npy" '(a.shape, int(a.sum()))'
	assert_output "((4, 3, 7), 84)"
}

@test "mkmask: same seed same bytes, different seed different bytes" {
	for kind in "vstripe --width 2-9" "hstripe --width 1-4" "patch --width 3-7" "pixels --fraction 0.5"; do
		mkmask --kind $kind --size 28x28 -n 50 > "$BATS_TEST_TMPDIR/a"
		mkmask --kind $kind --size 28x28 -n 50 -s 1 > "$BATS_TEST_TMPDIR/b"
		mkmask --kind $kind --size 28x28 -n 50 --seed 2 > "$BATS_TEST_TMPDIR/c"
		cmp "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
		run cmp -s "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/c"
		assert_failure
	done
}

@test "mkmask -P: a PGM stream of the same masks as 0/255" {
	mkmask --kind patch --size 32x24 --width 4-8 -n 30 -P > "$BATS_TEST_TMPDIR/m.pgm"
	mkmask --kind patch --size 32x24 --width 4-8 -n 30 > "$BATS_TEST_TMPDIR/m.npy"
	run pamfile -allimages "$BATS_TEST_TMPDIR/m.pgm"
	assert_success
	assert_equal "${#lines[@]}" 30
	assert_line --index 0 --partial "PGM raw, 32 by 24  maxval 255"
	run py 'p = load(sys.argv[1]); m = load(sys.argv[2]); print(p.shape, bool((p == 255 * m).all()))' \
		"$BATS_TEST_TMPDIR/m.pgm" "$BATS_TEST_TMPDIR/m.npy"
	assert_output "(30, 24, 32) True"
}

@test "mkmask: usage errors exit 2 with one message line first" {
	for args in \
		"--kind vstripe --size 28x28 --width 29 -n 1" \
		"--kind hstripe --size 40x20 --width 10-21 -n 1" \
		"--kind patch --size 40x20 --width 21 -n 1" \
		"--kind vstripe --size 28x28 --width 6-3 -n 1" \
		"--kind vstripe --size 28x28 --width 0 -n 1" \
		"--kind vstripe --size 28x28 -n 1" \
		"--kind vstripe --size 28x28 --width 3 --fraction 0.5 -n 1" \
		"--kind pixels --size 28x28 --width 3 -n 1" \
		"--kind pixels --size 28x28 --fraction 1.5 -n 1" \
		"--kind circle --size 28x28 --width 3 -n 1" \
		"--size 28x28 --width 3 -n 1" \
		"--kind patch --width 3 -n 1" \
		"--kind patch --size 28 --width 3 -n 1" \
		"--kind patch --size 28x28 --width 3" \
		"--kind patch --size 28x28 --width 3 -n 1 -s -4" \
		"--kind patch --size 28x28 --width 3 -n 1 extra" \
		"--bogus"; do
		run mkmask $args
		assert_failure 2
		assert_line --index 0 --regexp '^mkmask: '
		assert_equal "${#lines[@]}" 2
	done
	run mkmask --kind patch --size 28x28 --width 3 -n
	assert_line --index 0 "mkmask: option '-n' needs a value"
	run mkmask --kind vstripe --size 28x28 --width 29 -n 1
	assert_line --index 0 --partial "--width: 29 is larger than the 28x28 mask"
}
