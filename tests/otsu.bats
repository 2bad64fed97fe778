#!/usr/bin/env bats
load helper

# PY_DEFS: this file's own python, run before each py SCRIPT (helper.bash)
PY_DEFS=$(cat <<'PYEOF'
# otsu: the 8-bit threshold maximising w0*w1*(m0-m1)^2, class 0 = values <= t,
# the first maximum winning; 255 (all background) when no split exists.
def otsu(q):
    h = np.bincount(q.ravel(), minlength=256).astype(np.float64)
    i = np.arange(256.0)
    w0 = np.cumsum(h)[:255]
    s0 = np.cumsum(i * h)[:255]
    w1 = h.sum() - w0
    ok = (w0 > 0) & (w1 > 0)
    if not ok.any():
        return 255
    with np.errstate(divide='ignore', invalid='ignore'):
        d = s0 / w0 - ((i * h).sum() - s0) / w1
        between = w0 * w1 * d * d
    return int(np.argmax(np.where(ok, between, -1)))
PYEOF
)

@test "otsu: --help and --version" {
	run otsu --help
	assert_success
	assert_output --partial "Usage: otsu"
	run otsu --version
	assert_success
	assert_output --regexp "^otsu \(segpipe\) [0-9.]+$"
}

@test "otsu --thresholds: thresholds equal an independent numpy Otsu on the fixture" {
	otsu --thresholds "$IMAGES" > "$BATS_TEST_TMPDIR/t.txt"
	run py '
a = load(sys.argv[1])
got = [int(l) for l in open(sys.argv[2])]
want = [otsu(x) for x in a]
bad = [i for i in range(len(a)) if got[i] != want[i]]
print(len(got), len(want), len(bad), bad[:5])' "$IMAGES" "$BATS_TEST_TMPDIR/t.txt"
	assert_success
	assert_output "500 500 0 []"
}

@test "otsu: hand-made images: two levels, uniform, three levels" {
	# [0,0,200,200] splits at 0 (the first of the equal maxima 0..199); a
	# uniform image has no split (255: all background); [10,10,10,50,50,250]:
	# t=10 gives 3*3*(10-350/3)^2 = 102400, t=50 gives 5*1*(26-250)^2 = 250880.
	run py '
for name, v in (("two", [0, 0, 200, 200]), ("flat", [7, 7, 7, 7]),
                ("three", [10, 10, 10, 50, 50, 250])):
    a = np.array([v], np.uint8).reshape(1, 1, len(v))
    np.save(sys.argv[1] + "/" + name + ".npy", a)
print(otsu(np.array([0, 0, 200, 200], np.uint8)), otsu(np.array([7] * 4, np.uint8)),
      otsu(np.array([10, 10, 10, 50, 50, 250], np.uint8)))' "$BATS_TEST_TMPDIR"
	assert_success
	assert_output "0 255 50"
	run otsu --thresholds "$BATS_TEST_TMPDIR/two.npy"
	assert_output "0"
	run otsu --thresholds "$BATS_TEST_TMPDIR/flat.npy"
	assert_output "255"
	run otsu --thresholds "$BATS_TEST_TMPDIR/three.npy"
	assert_output "50"
	otsu "$BATS_TEST_TMPDIR/flat.npy" > "$BATS_TEST_TMPDIR/flat-mask.npy"
	run npy_eval "$BATS_TEST_TMPDIR/flat-mask.npy" 'a.tolist()'
	assert_output "[[[0, 0, 0, 0]]]"
	otsu "$BATS_TEST_TMPDIR/three.npy" > "$BATS_TEST_TMPDIR/three-mask.npy"
	run npy_eval "$BATS_TEST_TMPDIR/three-mask.npy" 'a.tolist()'
	assert_output "[[[0, 0, 0, 0, 0, 1]]]"
}

@test "otsu: masks are uint8 0/1 of the input's shape and equal image > t" {
	otsu "$IMAGES" > "$BATS_TEST_TMPDIR/m.npy"
	run py '
a = load(sys.argv[1]); m = load(sys.argv[2])
want = np.array([x > otsu(x) for x in a]).astype(np.uint8)
print(m.dtype, m.shape, int((m != want).sum()), int(m.sum()) > 0)' "$IMAGES" "$BATS_TEST_TMPDIR/m.npy"
	assert_success
	assert_output "uint8 (500, 28, 28) 0 True"
}

@test "otsu -P: a PGM stream of 0/255 masks that netpbm reads" {
	otsu -P "$IMAGES" > "$BATS_TEST_TMPDIR/m.pgm"
	otsu "$IMAGES" > "$BATS_TEST_TMPDIR/m.npy"
	run pamfile -allimages "$BATS_TEST_TMPDIR/m.pgm"
	assert_success
	assert_equal "${#lines[@]}" 500
	assert_line --index 0 --partial "PGM raw, 28 by 28  maxval 255"
	pnmtopng "$BATS_TEST_TMPDIR/m.pgm" > "$BATS_TEST_TMPDIR/m.png"
	run py '
p = load(sys.argv[1]); m = load(sys.argv[2])
print(p.shape, sorted(set(np.unique(p).tolist())), bool((p == 255 * m).all()))' \
		"$BATS_TEST_TMPDIR/m.pgm" "$BATS_TEST_TMPDIR/m.npy"
	assert_output "(500, 28, 28) [0, 255] True"
}

@test "otsu: float32 input round(255 x) and PGM input give the IDX thresholds" {
	py '
a = load(sys.argv[1])
np.save(sys.argv[2], a.astype(np.float32) / 255)
with open(sys.argv[3], "wb") as f:
    for x in a:
        f.write(b"P5\n28 28\n255\n" + x.tobytes())' \
		"$IMAGES" "$BATS_TEST_TMPDIR/f.npy" "$BATS_TEST_TMPDIR/i.pgm"
	otsu --thresholds "$IMAGES" > "$BATS_TEST_TMPDIR/idx.txt"
	otsu --thresholds "$BATS_TEST_TMPDIR/f.npy" > "$BATS_TEST_TMPDIR/f.txt"
	otsu --thresholds < "$BATS_TEST_TMPDIR/i.pgm" > "$BATS_TEST_TMPDIR/pgm.txt"
	cmp "$BATS_TEST_TMPDIR/idx.txt" "$BATS_TEST_TMPDIR/f.txt"
	cmp "$BATS_TEST_TMPDIR/idx.txt" "$BATS_TEST_TMPDIR/pgm.txt"
	otsu "$IMAGES" > "$BATS_TEST_TMPDIR/idx.npy"
	otsu - < "$BATS_TEST_TMPDIR/i.pgm" > "$BATS_TEST_TMPDIR/pgm.npy"
	cmp "$BATS_TEST_TMPDIR/idx.npy" "$BATS_TEST_TMPDIR/pgm.npy"
}

@test "otsu: every image of a multi-record stream is thresholded" {
	# a stream of two .npy arrays back to back is one stream of 500 images
	py 'a = load(sys.argv[1]); np.save(sys.argv[2], a[:123]); np.save(sys.argv[3], a[123:])' \
		"$IMAGES" "$BATS_TEST_TMPDIR/a.npy" "$BATS_TEST_TMPDIR/b.npy"
	cat "$BATS_TEST_TMPDIR/a.npy" "$BATS_TEST_TMPDIR/b.npy" | otsu --thresholds > "$BATS_TEST_TMPDIR/ab.txt"
	otsu --thresholds "$IMAGES" > "$BATS_TEST_TMPDIR/idx.txt"
	cmp "$BATS_TEST_TMPDIR/idx.txt" "$BATS_TEST_TMPDIR/ab.txt"
}

@test "otsu: bad input is one error line, exit 1" {
	printf 'hello, world\n' > "$BATS_TEST_TMPDIR/garbage"
	run otsu "$BATS_TEST_TMPDIR/garbage"
	assert_failure 1
	assert_output --regexp '^otsu: .*garbage'
	assert_equal "${#lines[@]}" 1

	head -c 3000 "$IMAGES" > "$BATS_TEST_TMPDIR/cut.gz"
	run otsu "$BATS_TEST_TMPDIR/cut.gz"
	assert_failure 1
	assert_output --regexp '^otsu: .*cut\.gz'
	assert_equal "${#lines[@]}" 1

	run otsu "$BATS_TEST_TMPDIR/no-such-file"
	assert_failure 1
	assert_output --regexp '^otsu: cannot open .*no-such-file'
	assert_equal "${#lines[@]}" 1
}

@test "otsu: usage errors exit 2" {
	run otsu --bogus
	assert_failure 2
	assert_line --index 0 "otsu: unknown option '--bogus'"
	assert_line --index 1 "Try 'otsu --help' for more information."
	assert_equal "${#lines[@]}" 2
	run otsu a b
	assert_failure 2
	assert_line --index 0 --regexp "^otsu: extra operand 'b'"
}
