#!/usr/bin/env bats
load helper
bats_require_minimum_version 1.5.0

setup() {
	T=$BATS_TEST_TMPDIR
}

@test "occlude: --help and --version" {
	run occlude --help
	assert_success
	assert_output --partial "Usage: occlude"
	run occlude --version
	assert_success
	assert_output --regexp "^occlude \(segpipe\) [0-9.]+$"
}

@test "occlude: fill 0 and -f 0.5 equal numpy; 7 masks cycle over 500 images" {
	mkmask --kind patch --size 28x28 --width 4-12 -n 7 > "$T/m.npy"
	occlude "$T/m.npy" "$IMAGES" > "$T/o0.npy"
	occlude -f 0.5 "$T/m.npy" < "$IMAGES" > "$T/o5.npy"
	# tolerance 1e-6: uint8/255 in float32 may differ from numpy's in the last bit
	run py '
m = load(sys.argv[1]); x = load(sys.argv[2]).astype(np.float32) / 255
for path, fill in ((sys.argv[3], 0.0), (sys.argv[4], 0.5)):
    o = load(path)
    want = np.where(m[np.arange(500) % 7] != 0, np.float32(fill), x)
    print(o.dtype, o.shape, float(abs(o - want).max()) < 1e-6)
print(bool((m[np.arange(500) % 7] != 0).any(axis=(1, 2)).all()))' \
		"$T/m.npy" "$IMAGES" "$T/o0.npy" "$T/o5.npy"
	assert_success
	assert_output "float32 (500, 28, 28) True
float32 (500, 28, 28) True
True"
}

@test "occlude: more masks than images takes the first ones; float32 images pass as they are" {
	mkmask --kind vstripe --size 28x28 --width 2-8 -n 600 > "$T/m.npy"
	py 'np.save(sys.argv[2], (load(sys.argv[1])[:50].astype(np.float32) - 100) / 7)' "$IMAGES" "$T/f.npy"
	occlude -f -3.25 "$T/m.npy" "$T/f.npy" > "$T/o.npy"
	run py '
m = load(sys.argv[1])[:50]; x = load(sys.argv[2]); o = load(sys.argv[3])
print(o.shape, bool((o == np.where(m != 0, np.float32(-3.25), x)).all()))' \
		"$T/m.npy" "$T/f.npy" "$T/o.npy"
	assert_output "(50, 28, 28) True"
}

@test "occlude --noise: hidden pixels uniform in [0,1), the rest untouched, seeded" {
	mkmask --kind hstripe --size 28x28 --width 10 -n 3 > "$T/m.npy"
	occlude --noise "$T/m.npy" "$IMAGES" > "$T/a.npy"
	occlude --noise -s 1 "$T/m.npy" "$IMAGES" > "$T/b.npy"
	occlude --noise --seed 9 "$T/m.npy" "$IMAGES" > "$T/c.npy"
	cmp "$T/a.npy" "$T/b.npy"
	run cmp -s "$T/a.npy" "$T/c.npy"
	assert_failure
	# 500*280 hidden values: the mean of U[0,1) has standard deviation
	# 0.29/sqrt(140000) = 0.0008, so 0.01 is over 10 sigma; likewise the
	# fraction below 0.25 within 0.01 of 0.25
	run py '
m = load(sys.argv[1])[np.arange(500) % 3] != 0; x = load(sys.argv[2]).astype(np.float32) / 255
o = load(sys.argv[3]); h = o[m]
print(h.size, float(h.min()) >= 0, float(h.max()) < 1, abs(h.mean() - 0.5) < 0.01,
      abs((h < 0.25).mean() - 0.25) < 0.01, float(abs(o[~m] - x[~m]).max()) < 1e-6)' \
		"$T/m.npy" "$IMAGES" "$T/a.npy"
	assert_output "140000 True True True True True"
}

@test "occlude: a one-channel mask hides every channel; a C-channel mask each its own" {
	py '
x = load(sys.argv[1])[:20]
np.save(sys.argv[2], np.stack([x, 255 - x], axis=1))          # (20,2,28,28) uint8
rng = np.random.default_rng(5)
np.save(sys.argv[3], (rng.random((4, 28, 28)) < 0.4).astype(np.uint8))
np.save(sys.argv[4], (rng.random((3, 2, 28, 28)) < 0.4).astype(np.uint8))' \
		"$IMAGES" "$T/x2.npy" "$T/m1.npy" "$T/m2.npy"
	occlude -f 0.25 "$T/m1.npy" "$T/x2.npy" > "$T/o1.npy"
	occlude -f 0.25 "$T/m2.npy" "$T/x2.npy" > "$T/o2.npy"
	run py '
x = load(sys.argv[1]).astype(np.float32) / 255
m1 = load(sys.argv[2])[np.arange(20) % 4][:, None]; m2 = load(sys.argv[3])[np.arange(20) % 3]
o1 = load(sys.argv[4]); o2 = load(sys.argv[5])
w1 = np.where(m1 != 0, np.float32(0.25), x); w2 = np.where(m2 != 0, np.float32(0.25), x)
print(o1.shape, float(abs(o1 - w1).max()) < 1e-6, o2.shape, float(abs(o2 - w2).max()) < 1e-6)' \
		"$T/x2.npy" "$T/m1.npy" "$T/m2.npy" "$T/o1.npy" "$T/o2.npy"
	assert_output "(20, 2, 28, 28) True (20, 2, 28, 28) True"
}

@test "occlude -P: a PGM stream netpbm reads, round(255 x) of the float output" {
	mkmask --kind patch --size 28x28 --width 8 -n 5 > "$T/m.npy"
	occlude -f 1 -P "$T/m.npy" "$IMAGES" > "$T/o.pgm"
	occlude -f 1 "$T/m.npy" "$IMAGES" > "$T/o.npy"
	run pamfile -allimages "$T/o.pgm"
	assert_success
	assert_equal "${#lines[@]}" 500
	assert_line --index 0 --partial "PGM raw, 28 by 28  maxval 255"
	run py 'p = load(sys.argv[1]); o = load(sys.argv[2]); x = load(sys.argv[3])
print(p.shape, bool((p == np.round(255 * o)).all()), bool((p == np.where(load(sys.argv[4])[np.arange(500) % 5] != 0, 255, x)).all()))' \
		"$T/o.pgm" "$T/o.npy" "$IMAGES" "$T/m.npy"
	assert_output "(500, 28, 28) True True"
}

@test "occlude: a mask of another size is one error line, exit 1" {
	mkmask --kind patch --size 32x32 --width 8 -n 5 > "$T/m32.npy"
	run occlude "$T/m32.npy" "$IMAGES"
	assert_failure 1
	assert_output --regexp '^occlude: mask shape 32x32 does not fit image shape 28x28 \(.*m32\.npy, .*\)$'
	assert_equal "${#lines[@]}" 1
	py 'np.save(sys.argv[1], np.zeros((2, 3, 28, 28), np.uint8)); np.save(sys.argv[2], np.zeros((2, 2, 28, 28), np.uint8))' \
		"$T/m3.npy" "$T/x2.npy"
	run occlude "$T/m3.npy" "$T/x2.npy"
	assert_failure 1
	assert_output --regexp '^occlude: mask shape 3x28x28 does not fit image shape 2x28x28'
	assert_equal "${#lines[@]}" 1
}

@test "occlude: bad input is one error line, exit 1" {
	mkmask --kind patch --size 28x28 --width 8 -n 5 > "$T/m.npy"
	printf 'not a stream\n' > "$T/garbage"
	head -c 3000 "$IMAGES" > "$T/cut.gz"
	py 'np.save(sys.argv[1], np.zeros((0, 28, 28), np.uint8))' "$T/none.npy"
	for args in "$T/garbage $IMAGES" "$T/m.npy $T/garbage" "$T/m.npy $T/cut.gz" \
		"$T/no-such $IMAGES" "$T/m.npy $T/no-such" "$T/none.npy $IMAGES"; do
		run occlude $args
		assert_failure 1
		assert_output --regexp '^occlude: '
		assert_equal "${#lines[@]}" 1
	done
	run occlude "$T/none.npy" "$IMAGES"
	assert_output --regexp '^occlude: no masks'
}

@test "occlude: usage errors exit 2" {
	for args in "" "-f 1 --noise m" "- -" "-" "m i extra" "-f x m" "-s -1 m" "--bogus m"; do
		run occlude $args
		assert_failure 2
		assert_line --index 0 --regexp '^occlude: '
		assert_equal "${#lines[@]}" 2
	done
	run occlude -
	assert_line --index 0 "occlude: MASKS and IMAGES cannot both be standard input"
}

@test "occlude -F: hidden pixels from the fill stream, visible ones from the images" {
	mkmask --kind vstripe --size 28x28 --width 3-9 -n 5 > "$T/m.npy"
	pick -r 100:200 "$IMAGES" > "$T/fill.npy"
	pick -n 100 "$IMAGES" > "$T/i.npy"
	occlude --fill-from "$T/fill.npy" "$T/m.npy" < "$T/i.npy" > "$T/o.npy"
	occlude -F - "$T/m.npy" "$T/i.npy" < "$T/fill.npy" > "$T/p.npy"
	cmp "$T/o.npy" "$T/p.npy"
	# tolerance 1e-6: uint8/255 in float32 against numpy's
	run py '
m = load(sys.argv[1]); x = load(sys.argv[2]).astype(np.float32) / 255; o = load(sys.argv[3])
want = np.where(m[np.arange(100) % 5] != 0, x[100:200], x[:100])
print(o.dtype, o.shape, float(abs(o - want).max()) < 1e-6)' "$T/m.npy" "$IMAGES" "$T/o.npy"
	assert_output "float32 (100, 28, 28) True"
	# a restoration pasted into its input's visible pixels: hiding them again gives the input
	occlude "$T/m.npy" "$T/i.npy" > "$T/h.npy"
	occlude "$T/m.npy" "$T/o.npy" | cmp - "$T/h.npy"
}

@test "occlude -F: fill of another shape or length is one error line, exit 1" {
	mkmask --kind patch --size 28x28 --width 5 -n 1 > "$T/m.npy"
	pick -n 10 "$IMAGES" > "$T/i.npy"
	pick -n 10 "$IMAGES" | pad --size 32x32 > "$T/big.npy"
	run -1 occlude -F "$T/big.npy" "$T/m.npy" "$T/i.npy"
	assert_output --regexp '^occlude: fill shape .* is not image shape'
	assert_equal "${#lines[@]}" 1
	pick -n 9 "$IMAGES" > "$T/short.npy"
	run -1 occlude -F "$T/short.npy" "$T/m.npy" "$T/i.npy"
	assert_output --regexp '^occlude: .*short.npy has fewer samples than'
	assert_equal "${#lines[@]}" 1
	pick -n 11 "$IMAGES" > "$T/long.npy"
	run -1 occlude -F "$T/long.npy" "$T/m.npy" "$T/i.npy"
	assert_output --regexp '^occlude: .*long.npy has more samples than'
	assert_equal "${#lines[@]}" 1
	for args in "-F f -f 1 m" "-F f --noise m" "-F - - i" "-F - m"; do
		run -2 occlude $args
		assert_line --index 0 --regexp '^occlude: '
	done
	run -2 occlude -F - m
	assert_line --index 0 "occlude: FILL and IMAGES cannot both be standard input"
}
