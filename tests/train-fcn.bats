#!/usr/bin/env bats
load helper
bats_require_minimum_version 1.5.0

# Small data, made once: 48 noisy 32x40 images of one bright rectangle
# (8-16 pixels a side) and their class maps (1 inside, 0 outside), and
# the first 64 fixture digits with their Otsu masks.
setup_file() {
	cd "$BATS_FILE_TMPDIR"
	py '
r = np.random.default_rng(1)
x = np.zeros((48, 1, 32, 40), np.uint8)
y = np.zeros((48, 1, 32, 40), np.uint8)
for i in range(48):
    h, w = r.integers(8, 17, 2)
    a, b = r.integers(0, 32 - h), r.integers(0, 40 - w)
    x[i, 0, a:a + h, b:b + w] = 200
    y[i, 0, a:a + h, b:b + w] = 1
x += r.integers(0, 40, x.shape).astype(np.uint8)
for name, v in (("sq.npy", x), ("sqm.npy", y)):
    with open(name, "wb") as f:
        np.lib.format.write_array(f, v)
'
	pick --first 64 "$IMAGES" > i64.npy
	otsu i64.npy > m64.npy
}

header() {
	sed -n "/^\$/q; s/^$2 //p" "$1"
}

T="--filters 4 -j 1 -b 16"

@test "train-fcn: --help and --version" {
	run train-fcn --help
	assert_success
	assert_output --partial "Usage: train-fcn"
	run train-fcn --version
	assert_success
	assert_output --partial "kernel"
}

@test "train-fcn learns rectangles: IoU of predict --argmax above 0.75 after 30 epochs" {
	cd "$BATS_FILE_TMPDIR"
	local d="$BATS_TEST_TMPDIR"
	train-fcn $T -e 30 --lr 0.01 --classes 2 -o "$d/sq.model" sq.npy sqm.npy 2> /dev/null
	assert_equal "$(header "$d/sq.model" kind)" fcn8
	assert_equal "$(header "$d/sq.model" classes)" 2
	assert_equal "$(header "$d/sq.model" filters)" 4
	predict --argmax "$d/sq.model" sq.npy > "$d/pred.npy"
	run iou "$d/pred.npy" sqm.npy
	assert_success
	local v
	v=$(echo "$output" | awk '$1 == "iou" { print $2 }')
	echo "iou $v"
	awk -v v="$v" 'BEGIN { exit !(v > 0.75) }'
	# probabilities: two channels that sum to 1 (to 1e-5) at every pixel
	predict "$d/sq.model" sq.npy > "$d/prob.npy"
	run npy_eval "$d/prob.npy" 'a.shape == (48, 2, 32, 40) and bool(np.abs(a.sum(axis=1) - 1).max() < 1e-5)'
	assert_output True
}

@test "train-fcn: the same seed gives the same bytes; another seed other bytes" {
	cd "$BATS_FILE_TMPDIR"
	local d="$BATS_TEST_TMPDIR"
	train-fcn $T -e 2 --classes 2 -o "$d/a.model" i64.npy m64.npy 2> /dev/null
	train-fcn $T -e 2 --classes 2 -o "$d/b.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/a.model" "$d/b.model"
	train-fcn $T -e 2 --classes 2 -s 2 -o "$d/c.model" i64.npy m64.npy 2> /dev/null
	! cmp -s "$d/a.model" "$d/c.model"
}

@test "train-fcn --resume equals the run in one go" {
	cd "$BATS_FILE_TMPDIR"
	local d="$BATS_TEST_TMPDIR"
	train-fcn $T -e 3 --classes 2 -o "$d/once.model" i64.npy m64.npy 2> /dev/null
	train-fcn $T -e 1 --classes 2 -o "$d/part.model" i64.npy m64.npy 2> /dev/null
	train-fcn -j 1 --resume "$d/part.model" -e 3 -o "$d/part.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/once.model" "$d/part.model"
}

@test "train-fcn: bad input is refused with one line" {
	cd "$BATS_FILE_TMPDIR"
	local d="$BATS_TEST_TMPDIR"
	run train-fcn $T -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	assert_output --partial "--classes N is required"
	run train-fcn $T --classes 1 -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	run train-fcn $T --classes 2 i64.npy m64.npy
	assert_failure 2
	assert_output --partial "-o MODEL"
	# a class index not below --classes
	compose -n 8 -m "$d/c.npy" "$IMAGES" "$LABELS" > "$d/x.npy"
	run train-fcn $T --classes 5 -o "$d/x.model" "$d/x.npy" "$d/c.npy"
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	# targets of another image size, of two channels
	pick --first 8 i64.npy > "$d/i8.npy"
	run train-fcn $T --classes 11 -o "$d/x.model" "$d/i8.npy" "$d/c.npy"
	assert_failure 1
	assert_output --partial "differ in image size"
	stack m64.npy m64.npy > "$d/m2.npy"
	run train-fcn $T --classes 2 -o "$d/x.model" i64.npy "$d/m2.npy"
	assert_failure 1
	assert_output --partial "one channel"
	# resuming a model of another kind
	train-unet --filters 2 -j 1 -e 1 -o "$d/u.model" i64.npy m64.npy 2> /dev/null
	run train-fcn -j 1 --resume "$d/u.model" -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	assert_output --partial "unet"
	[ ! -e "$d/x.model" ]
}

@test "train-fcn: an architecture option with --resume is a usage error" {
	local d=$BATS_TEST_TMPDIR
	train-fcn $T -e 1 --classes 2 -o "$d/f.model" sq.npy sqm.npy 2> /dev/null
	run -2 train-fcn -e 2 --filters 8 --resume "$d/f.model" -o "$d/f.model" sq.npy sqm.npy
	assert_line --index 0 --partial "--filters"
}
