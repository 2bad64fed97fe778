#!/usr/bin/env bats
load helper

setup() {
	T=$BATS_TEST_TMPDIR
}

@test "mix: --help and --version" {
	run mix --help
	assert_success
	assert_output --partial "Usage: mix"
	run mix --version
	assert_success
	assert_output --regexp "^mix \(segpipe\) [0-9.]+$"
}

@test "mix: the average of MNIST and MNIST reversed equals numpy's" {
	py 'np.save(sys.argv[2], load(sys.argv[1])[::-1])' "$IMAGES" "$T/rev.npy"
	mix "$IMAGES" "$T/rev.npy" > "$T/avg.npy"
	mix -w 0.5 - "$T/rev.npy" < "$IMAGES" > "$T/avg2.npy"
	cmp "$T/avg.npy" "$T/avg2.npy"
	# tolerance 1e-6: float32 arithmetic, uint8/255 rounding in the last bit
	run py '
a = load(sys.argv[1]).astype(np.float64) / 255; o = load(sys.argv[2])
want = (a + a[::-1]) / 2
print(o.dtype, o.shape, float(abs(o - want).max()) < 1e-6, bool((o == o[::-1]).all()))' \
		"$IMAGES" "$T/avg.npy"
	assert_success
	assert_output "float32 (500, 28, 28) True True"
}

@test "mix -w: W*A + (1-W)*B against numpy; W=1 gives A, W=0 gives B" {
	py '
a = load(sys.argv[1])
rng = np.random.default_rng(3)
np.save(sys.argv[2], rng.random(a.shape, dtype=np.float32))' "$IMAGES" "$T/b.npy"
	mix -w 0.3 "$IMAGES" "$T/b.npy" > "$T/o3.npy"
	mix --weight=-0.5 "$IMAGES" "$T/b.npy" > "$T/on.npy"
	mix -w 1 "$IMAGES" "$T/b.npy" > "$T/o1.npy"
	mix -w 0 "$IMAGES" "$T/b.npy" > "$T/o0.npy"
	run py '
a = load(sys.argv[1]).astype(np.float64) / 255; b = load(sys.argv[2]).astype(np.float64)
for path, w in ((sys.argv[3], 0.3), (sys.argv[4], -0.5)):
    print(float(abs(load(path) - (w * a + (1 - w) * b)).max()) < 1e-6)
print(float(abs(load(sys.argv[5]) - a).max()) < 1e-6, bool((load(sys.argv[6]) == b).all()))' \
		"$IMAGES" "$T/b.npy" "$T/o3.npy" "$T/on.npy" "$T/o1.npy" "$T/o0.npy"
	assert_output "True
True
True True"
}

@test "mix: multi-channel samples, PGM input and -P output" {
	py '
x = load(sys.argv[1])[:40]
np.save(sys.argv[2], np.stack([x, 255 - x], axis=1))
np.save(sys.argv[3], np.stack([x[::-1], x], axis=1))
with open(sys.argv[4], "wb") as f:
    for im in x:
        f.write(b"P5\n28 28\n255\n" + im.tobytes())' "$IMAGES" "$T/a.npy" "$T/b.npy" "$T/x.pgm"
	mix -w 0.25 "$T/a.npy" "$T/b.npy" > "$T/o.npy"
	run py '
a = load(sys.argv[1]) / 255.0; b = load(sys.argv[2]) / 255.0; o = load(sys.argv[3])
print(o.shape, float(abs(o - (0.25 * a + 0.75 * b)).max()) < 1e-6)' "$T/a.npy" "$T/b.npy" "$T/o.npy"
	assert_output "(40, 2, 28, 28) True"
	# a PGM stream mixed with itself is itself; -P writes it back the same
	mix -P "$T/x.pgm" "$T/x.pgm" > "$T/o.pgm"
	cmp "$T/x.pgm" "$T/o.pgm"
	run pamfile -allimages "$T/o.pgm"
	assert_success
	assert_equal "${#lines[@]}" 40
	assert_line --index 0 --partial "PGM raw, 28 by 28  maxval 255"
}

@test "mix --shuffle: B's samples in a seeded permutation, each used once" {
	# B[i] is the constant i/512 (exact in float32), so 2*out - A recovers i
	py '
np.save(sys.argv[1], (np.arange(500, dtype=np.float32)[:, None, None] / 512) * np.ones((1, 28, 28), np.float32))' "$T/b.npy"
	mix --shuffle "$IMAGES" "$T/b.npy" > "$T/s1.npy"
	mix --shuffle -s 1 "$IMAGES" "$T/b.npy" > "$T/s1b.npy"
	mix --shuffle --seed 2 "$IMAGES" "$T/b.npy" > "$T/s2.npy"
	cmp "$T/s1.npy" "$T/s1b.npy"
	run cmp -s "$T/s1.npy" "$T/s2.npy"
	assert_failure
	run py '
a = load(sys.argv[1]).astype(np.float64) / 255
for path in sys.argv[2:]:
    b = 2 * load(path) - a
    i = np.round(b * 512)
    const = float(abs(b - i[:, :1, :1] / 512).max()) < 1e-5
    perm = i[:, 0, 0].astype(int)
    print(const, sorted(perm.tolist()) == list(range(500)), int((perm == np.arange(500)).sum()) < 10)' \
		"$IMAGES" "$T/s1.npy" "$T/s2.npy"
	assert_output "True True True
True True True"
}

@test "mix: streams of different lengths are an error naming the longer one" {
	py 'a = load(sys.argv[1]); np.save(sys.argv[2], a[:300]); np.save(sys.argv[3], a[:28, :1])' \
		"$IMAGES" "$T/short.npy" "$T/odd.npy"
	run mix "$IMAGES" "$T/short.npy"
	assert_failure 1
	assert_output --regexp '^mix: .*mnist-test-500-images\.idx\.gz has more samples than .*short\.npy'
	assert_equal "${#lines[@]}" 1
	run mix "$T/short.npy" "$IMAGES"
	assert_failure 1
	assert_output --regexp '^mix: .*mnist-test-500-images\.idx\.gz has more samples than .*short\.npy'
	assert_equal "${#lines[@]}" 1
	for order in "$IMAGES $T/short.npy" "$T/short.npy $IMAGES"; do
		run mix --shuffle $order
		assert_failure 1
		assert_output --regexp '^mix: .*mnist-test-500-images\.idx\.gz has more samples than .*short\.npy'
		assert_equal "${#lines[@]}" 1
	done
	run mix "$IMAGES" "$T/odd.npy"
	assert_failure 1
	assert_output --regexp '^mix: sample shapes differ: 28x28 in .*images\.idx\.gz, 1x28 in .*odd\.npy$'
	assert_equal "${#lines[@]}" 1
}

@test "mix: bad input is one error line, exit 1" {
	printf 'not a stream\n' > "$T/garbage"
	head -c 3000 "$IMAGES" > "$T/cut.gz"
	for args in "$T/garbage $IMAGES" "$IMAGES $T/garbage" "$IMAGES $T/cut.gz" \
		"--shuffle $IMAGES $T/cut.gz" "$T/no-such $IMAGES" "$IMAGES $T/no-such"; do
		run mix $args
		assert_failure 1
		assert_output --regexp '^mix: '
		assert_equal "${#lines[@]}" 1
	done
}

@test "mix: usage errors exit 2" {
	for args in "" "a" "a b c" "- -" "-w x a b" "-w 1e9 a b" "-s -1 a b" "--bogus a b" "a b -w"; do
		run mix $args
		assert_failure 2
		assert_line --index 0 --regexp '^mix: '
		assert_equal "${#lines[@]}" 2
	done
}
