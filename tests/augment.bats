#!/usr/bin/env bats
# augment: each change checked for what it does (numpy), the seed's bytes,
# thread counts and slices of a stream.
load helper
bats_require_minimum_version 1.5.0

PY_DEFS=$(cat <<'PYEOF'
D = os.environ['BATS_FILE_TMPDIR']
PYEOF
)

setup_file() {
	py - <<'EOF'
# a horizontal bar through the centre of a 31x31 float image
bar = np.zeros((100, 31, 31), np.float32); bar[:, 15, 3:28] = 1
np.save(D + '/bar.npy', bar)
np.save(D + '/ones.npy', np.ones((100, 2, 28, 28), np.float32))
np.save(D + '/grey.npy', np.full((200, 28, 28), 0.5, np.float32))
np.save(D + '/grey8.npy', np.full((200, 28, 28), 128, np.uint8))
np.save(D + '/vec.npy', np.zeros((3, 10), np.float32))
EOF
}

@test "augment: --help and --version" {
	run -0 augment --help
	assert_output --partial "Usage: augment"
	run -0 augment --version
	assert_output --regexp '^augment \(segpipe\) '
}

@test "augment: the same seed gives the same bytes on 1 and 2 threads; another seed does not" {
	D=$BATS_FILE_TMPDIR
	all="--flip --rotate 10 --shift 2 --erase 0.5 --noise 0.05"
	augment $all -s 7 -j 1 "$IMAGES" > "$D/a.npy"
	augment $all -s 7 -j 2 "$IMAGES" > "$D/b.npy"
	augment $all -s 7 -j 2 "$IMAGES" > "$D/c.npy"
	augment $all -s 8 -j 2 "$IMAGES" > "$D/d.npy"
	cmp "$D/a.npy" "$D/b.npy"
	cmp "$D/b.npy" "$D/c.npy"
	! cmp -s "$D/a.npy" "$D/d.npy"
	# uint8 in, uint8 out, same shape
	run -0 npy_eval "$D/a.npy" 'a.dtype, a.shape'
	assert_output "(dtype('uint8'), (500, 28, 28))"
}

@test "augment: a slice augmented equals the slice of the augmented stream" {
	D=$BATS_FILE_TMPDIR
	all="--flip --rotate 10 --shift 2 --erase 0.5 --noise 0.05"
	augment $all -s 3 "$IMAGES" | pick --range 120:260 > "$D/after.npy"
	pick --range 120:260 "$IMAGES" | augment $all -s 3 --start 120 > "$D/before.npy"
	cmp "$D/after.npy" "$D/before.npy"
	# any selection, by the positions pick names
	augment $all -s 3 "$IMAGES" | pick --shuffle -s 9 -n 100 > "$D/after2.npy"
	# (the positions file complete before augment reads it: not one pipe)
	pick --shuffle -s 9 -n 100 -I "$D/idx.txt" "$IMAGES" > "$D/picked.npy"
	augment $all -s 3 --index "$D/idx.txt" "$D/picked.npy" > "$D/before2.npy"
	cmp "$D/after2.npy" "$D/before2.npy"
	# without --start the slice gets other draws
	pick --range 120:260 "$IMAGES" | augment $all -s 3 > "$D/other.npy"
	! cmp -s "$D/after.npy" "$D/other.npy"
}

@test "augment: --flip mirrors about half the images, the rest untouched" {
	D=$BATS_FILE_TMPDIR
	augment --flip "$IMAGES" > "$D/flip.npy"
	run -0 pyck '(lambda f: (all((f[i] == img[i]).all() or (f[i] == img[i][:, ::-1]).all() for i in range(500)), 150 < sum((f[i] != img[i]).any() for i in range(500)) < 350))(a)' "$D/flip.npy"
	assert_output "(True, True)"
}

@test "augment: --mirror mirrors every image; alone it draws nothing, so --seed, --start, --index are usage errors" {
	D=$BATS_FILE_TMPDIR
	augment --mirror "$IMAGES" > "$D/mirror.npy"
	augment --mirror -j 1 "$IMAGES" > "$D/mirror1.npy"
	cmp "$D/mirror.npy" "$D/mirror1.npy"
	seq 0 499 > "$D/idx500.txt"
	for opt in "--seed 9" "--start 3" "--start 0" "--index $D/idx500.txt"; do
		# shellcheck disable=SC2086 # the option and its value
		run -2 augment --mirror $opt "$IMAGES"
		assert_line --index 0 "augment: ${opt%% *} does nothing with --mirror alone (nothing is drawn)"
	done
	run -2 augment --mirror -s 9 "$IMAGES"
	assert_line --index 0 "augment: --seed does nothing with --mirror alone (nothing is drawn)"
	# with a draw beside the mirror, the seed matters again
	augment --mirror --shift 2 -s 9 -j 1 "$IMAGES" > "$D/mirror-shift9.npy"
	augment --mirror --shift 2 -s 8 -j 1 "$IMAGES" > "$D/mirror-shift8.npy"
	! cmp -s "$D/mirror-shift9.npy" "$D/mirror-shift8.npy"
	run -0 pyck 'all((a[i] == img[i][:, ::-1]).all() and (a[i] != img[i]).any() for i in range(500))' "$D/mirror.npy"
	assert_output "True"
}

@test "augment: --shift moves each image by dx, dy in -N..N with zero fill" {
	D=$BATS_FILE_TMPDIR
	augment --shift 2 -s 4 "$IMAGES" > "$D/shift.npy"
	run -0 py - "$IMAGES" "$D/shift.npy" <<'EOF'
img = load(sys.argv[1]); s = load(sys.argv[2]); used = set()
def moved(x, dx, dy):
    o = np.zeros_like(x); H, W = x.shape
    o[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
        x[max(-dy, 0):H + min(-dy, 0), max(-dx, 0):W + min(-dx, 0)]
    return o
for i in range(500):
    m = [(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3) if (moved(img[i], dx, dy) == s[i]).all()]
    assert m, i
    used.add(m[0])
assert len(used) >= 20, used   # of the 25 shifts
print('ok')
EOF
	assert_output ok
}

@test "augment: --rotate turns a bar by angles within +-DEG; --rotate 0 changes nothing" {
	D=$BATS_FILE_TMPDIR
	augment --rotate 30 "$D/bar.npy" > "$D/rot.npy"
	# the bar's axis from its second moments, in degrees; its mass kept
	# within 5% (the bar stays inside the image; bilinear sampling of a
	# one-pixel line moves its sum by up to about 3%)
	run -0 py - "$D/rot.npy" <<'EOF'
r = load(sys.argv[1]).astype(np.float64); ang = []
yy, xx = np.mgrid[0:31, 0:31] - 15.0
for x in r:
    m = x.sum(); assert abs(m - 25) < 1.25, m
    mxx = (x * xx * xx).sum(); myy = (x * yy * yy).sum(); mxy = (x * xx * yy).sum()
    ang.append(np.degrees(0.5 * np.arctan2(2 * mxy, mxx - myy)))
ang = np.array(ang)
assert np.abs(ang).max() <= 30.5, ang.max()
assert ang.std() > 12 and ang.min() < -20 and ang.max() > 20, (ang.std(), ang.min(), ang.max())
print('ok')
EOF
	assert_output ok
	augment --rotate 0 "$D/bar.npy" > "$D/rot0.npy"
	run -0 py 'print((load(sys.argv[1]) == load(sys.argv[2])).all())' "$D/bar.npy" "$D/rot0.npy"
	assert_output True
}

@test "augment: --erase blanks one rectangle of 2-40% of the image, in every channel" {
	D=$BATS_FILE_TMPDIR
	augment --erase 1 --erase-fill zero "$D/ones.npy" > "$D/erase.npy"
	run -0 py - "$D/erase.npy" <<'EOF'
e = load(sys.argv[1]); assert e.shape == (100, 2, 28, 28) and e.dtype == np.float32
for x in e:
    assert (x[0] == x[1]).all()
    z = np.argwhere(x[0] == 0); (y0, x0), (y1, x1) = z.min(0), z.max(0)
    h, w = y1 - y0 + 1, x1 - x0 + 1
    assert len(z) == h * w and (x[0][y0:y1 + 1, x0:x1 + 1] == 0).all()   # a rectangle
    assert 0.015 <= h * w / 784 <= 0.42, h * w
    assert 0.25 <= h / w <= 4, (h, w)
print('ok')
EOF
	assert_output ok
	# probability 0.3: about 150 of 500 erased; noise fill: values in [0, 1)
	cat "$D/grey.npy" "$D/grey.npy" "$D/grey.npy" | pick -n 500 | augment --erase 0.3 -s 2 > "$D/erase3.npy"
	run -0 py 'e = load(sys.argv[1]); k = sum((x != 0.5).any() for x in e); print(100 < k < 200, e.min() >= 0, e.max() < 1)' "$D/erase3.npy"
	assert_output "True True True"
}

@test "augment: --noise adds Gaussian noise of SIGMA, clipped; uint8 stays uint8" {
	D=$BATS_FILE_TMPDIR
	augment --noise 0.1 "$D/grey.npy" > "$D/noise.npy"
	# 156800 values: mean and std within 0.002 of 0.5 and 0.1 (clipping at
	# 5 sigma changes nothing visible)
	run -0 py 'n = load(sys.argv[1]); t = n.dtype; n = n.astype(np.float64); print(t, abs(n.mean() - 0.5) < 0.002, abs(n.std() - 0.1) < 0.002)' "$D/noise.npy"
	assert_output "float32 True True"
	augment --noise 0.1 "$D/grey8.npy" > "$D/noise8.npy"
	run -0 py 'n = load(sys.argv[1]); print(n.dtype, n.shape, abs(n.std() - 25.5) < 0.3)' "$D/noise8.npy"
	assert_output "uint8 (200, 28, 28) True"
	# a large sigma: clipped to the range
	augment --noise 2 "$D/grey.npy" > "$D/noise2.npy"
	run -0 py 'n = load(sys.argv[1]); print(n.min() == 0, n.max() == 1)' "$D/noise2.npy"
	assert_output "True True"
}

@test "augment: bad input is one clear line" {
	D=$BATS_FILE_TMPDIR
	run -2 augment "$IMAGES"
	assert_line --index 0 "augment: nothing to do: give --shift, --flip, --mirror, --rotate, --erase or --noise"
	run -2 augment --flip --mirror "$IMAGES"
	assert_line --index 0 "augment: give one of --flip and --mirror"
	run -2 augment --erase 1.5 "$IMAGES"
	assert_line --index 0 --partial "--erase: '1.5' is not a number in 0..1"
	run -2 augment --rotate 200 "$IMAGES"
	assert_line --index 0 --partial "--rotate: '200' is not a number in 0..180"
	run -2 augment --shift 0 "$IMAGES"
	assert_line --index 0 --partial "--shift: '0' is not an integer"
	run -2 augment --erase 0.5 --erase-fill grey "$IMAGES"
	assert_line --index 0 "augment: --erase-fill: 'grey' is not noise or zero"
	run -2 augment --flip --erase-fill zero "$IMAGES"
	assert_line --index 0 "augment: --erase-fill needs --erase"
	run -2 augment --flip --start 3 --index "$D/idx.txt" "$IMAGES"
	assert_line --index 0 "augment: give one of --start and --index"
	run -1 augment --flip "$D/vec.npy"
	assert_output "augment: samples of shape 10 are not images ($D/vec.npy): one image saved as (H,10) is H samples of 10 values; save it as (1,H,10), e.g. np.save(f, image[None])"
	printf '0\n1\n' > "$D/two.txt"
	run -1 augment --flip --index "$D/two.txt" "$D/bar.npy"
	assert_output "augment: $D/two.txt ends after 2 positions; the stream has more samples"
	seq 0 200 > "$D/many.txt"
	run -1 augment --flip --index "$D/many.txt" "$D/bar.npy"
	assert_output "augment: $D/many.txt has more positions than the stream's 100 samples"
	printf '0\nx\n' > "$D/bad.txt"
	run -1 augment --flip --index "$D/bad.txt" "$D/bar.npy"
	assert_output "augment: $D/bad.txt line 2: not a position (a non-negative integer)"
	# a full disk: exit 1 and one line
	run bash -c 'augment --flip "$1" 2>&1 >/dev/full' _ "$D/bar.npy"
	assert_failure 1
	assert_output "augment: write error: No space left on device"
}

@test "augment: an empty stream passes on as an empty stream of its shape" {
	D=$BATS_FILE_TMPDIR
	pick --first 0 "$IMAGES" > "$D/e.npy"
	augment --flip --noise 0.1 "$D/e.npy" > "$D/e-out.npy"
	run -0 npy_eval "$D/e-out.npy" 'a.dtype, a.shape'
	assert_output "(dtype('uint8'), (0, 28, 28))"
}
