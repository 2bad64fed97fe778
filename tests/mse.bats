#!/usr/bin/env bats
# mse: checked against numpy (float64) on the MNIST fixture and on
# hand-made cases. MSE values are compared with abs diff < 1e-9 and
# relative diff < 1e-6, PSNR with abs diff < 1e-5 dB.
load helper
bats_require_minimum_version 1.5.0

# PY_DEFS, for the python each py - ARGS <<EOF reads from stdin: `D` the
# scratch directory, load(path) with uint8 mapped to [0,1] (else float64),
# close(name, got, want) within the tolerances above.
PY_DEFS=$(cat <<'PYEOF'
D = os.environ['BATS_FILE_TMPDIR']
load_stream = load
def load(p):
    a = load_stream(p)
    return a / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)
def close(name, got, want):
    if np.isinf(want):
        assert got == want, (name, got, want)
    else:
        tol = 1e-5 if name.startswith('psnr') else max(1e-9, 1e-6 * abs(want))
        assert abs(got - want) <= tol, (name, got, want)
PYEOF
)

setup_file() {
	# noisy: the images plus Gaussian noise (float32); two: 2-channel
	# samples (image, its transpose) against (image shifted, image).
	py - "$IMAGES" <<'EOF'
img = load(sys.argv[1]).astype(np.float32)
r = np.random.default_rng(2)
np.save(D + '/noisy.npy', (img + r.normal(0, 0.1, img.shape)).astype(np.float32))
np.save(D + '/two_a.npy', np.stack([img, img.transpose(0, 2, 1)], 1))
np.save(D + '/two_b.npy', np.stack([np.roll(img, 2, axis=1), img], 1))
EOF
}

@test "mse: --help and --version" {
	run -0 mse --help
	assert_output --partial "Usage: mse"
	run -0 mse --version
	assert_output --regexp "^mse \(segpipe\) [0-9.]+$"
}

@test "mse: overall mse and psnr match numpy (uint8 IDX vs float32 noise)" {
	mse "$IMAGES" "$BATS_FILE_TMPDIR/noisy.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 py - "$IMAGES" "$BATS_FILE_TMPDIR/noisy.npy" "$BATS_TEST_TMPDIR/out" <<'EOF'
a = load(sys.argv[1]); b = load(sys.argv[2])
got = [l.rstrip('\n').split('\t') for l in open(sys.argv[3])]
assert [g[0] for g in got] == ['mse', 'psnr'], got
m = ((a - b) ** 2).mean()
close('mse', float(got[0][1]), m)
close('psnr', float(got[1][1]), 10 * np.log10(1 / m))
print('ok')
EOF
	assert_output ok
}

@test "mse: --per-channel matches numpy on 2-channel samples" {
	local d="$BATS_FILE_TMPDIR"
	mse --per-channel "$d/two_a.npy" "$d/two_b.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 py - "$d/two_a.npy" "$d/two_b.npy" "$BATS_TEST_TMPDIR/out" <<'EOF'
a = load(sys.argv[1]); b = load(sys.argv[2])
got = [l.rstrip('\n').split('\t') for l in open(sys.argv[3])]
assert [g[0] for g in got] == ['mse', 'psnr', 'mse_0', 'mse_1'], got
m = ((a - b) ** 2).mean()
mc = ((a - b) ** 2).mean(axis=(0, 2, 3))
assert mc[1] > 0 and abs(mc[0] - mc[1]) > 1e-3    # the channels differ
for name, want in zip(['mse', 'psnr', 'mse_0', 'mse_1'], [m, 10 * np.log10(1 / m), mc[0], mc[1]]):
    close(name, float(dict(got)[name]), want)
print('ok')
EOF
	assert_output ok
}

@test "mse: --per-sample (and with --per-channel) rows match numpy" {
	local d="$BATS_FILE_TMPDIR"
	mse -p "$IMAGES" "$d/noisy.npy" > "$BATS_TEST_TMPDIR/one"
	mse -p --per-channel "$d/two_a.npy" "$d/two_b.npy" > "$BATS_TEST_TMPDIR/two"
	run -0 py - "$IMAGES" "$d/noisy.npy" "$d/two_a.npy" "$d/two_b.npy" "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two" <<'EOF'
def rows(p):
    r = [l.rstrip('\n').split('\t') for l in open(p)]
    return r[0], np.array(r[1:], float)
h, g = rows(sys.argv[5])
assert h == ['index', 'mse', 'psnr'] and g.shape == (500, 3), (h, g.shape)
m = ((load(sys.argv[1]) - load(sys.argv[2])) ** 2).mean(axis=(1, 2))
assert (g[:, 0] == np.arange(500)).all()
assert np.all(np.abs(g[:, 1] - m) <= np.maximum(1e-9, 1e-6 * m))
assert np.all(np.abs(g[:, 2] - 10 * np.log10(1 / m)) < 1e-5)
h, g = rows(sys.argv[6])
assert h == ['index', 'mse', 'psnr', 'mse_0', 'mse_1'] and g.shape == (500, 5), (h, g.shape)
sq = (load(sys.argv[3]) - load(sys.argv[4])) ** 2
want = np.column_stack([np.arange(500), sq.mean(axis=(1, 2, 3)), 10 * np.log10(1 / sq.mean(axis=(1, 2, 3))),
                        sq[:, 0].mean(axis=(1, 2)), sq[:, 1].mean(axis=(1, 2))])
err = np.abs(g - want)
assert np.all(err[:, [0, 1, 3, 4]] <= np.maximum(1e-9, 1e-6 * np.abs(want[:, [0, 1, 3, 4]]))), err.max(0)
assert np.all(err[:, 2] < 1e-5), err[:, 2].max()
print('ok')
EOF
	assert_output ok
}

@test "mse: hand-made case with known answers; identical streams give inf" {
	py - <<'EOF'
np.save(D + '/a.npy', np.array([[0, 0, 0, 0], [1, 1, 1, 1]], np.float32))
np.save(D + '/b.npy', np.array([[0.5, 0, 0, 0], [1, 1, 1, 0.75]], np.float32))
np.save(D + '/u.npy', np.array([[0, 255], [51, 0]], np.uint8))
np.save(D + '/f.npy', np.array([[0, 1], [0, 0]], np.float32))
EOF
	local d="$BATS_FILE_TMPDIR"
	# squared errors 0.25 and 0.0625 over 8 values: 0.0390625; psnr
	# 10 log10(25.6) = 14.0824 dB (values exact in float32)
	run -0 mse "$d/a.npy" "$d/b.npy"
	assert_output "$(printf 'mse\t0.0390625\npsnr\t14.0824')"
	run -0 mse -p "$d/a.npy" "$d/b.npy"
	assert_output "$(printf 'index\tmse\tpsnr\n0\t0.0625\t12.0412\n1\t0.015625\t18.0618')"
	# uint8 is intensity: 255 -> 1, 51 -> 0.2; per-sample 0 and 0.02
	run -0 mse -p "$d/u.npy" "$d/f.npy"
	assert_line --index 1 "$(printf '0\t0\tinf')"
	# sample 1 within 1e-7 of 0.02 and 1e-5 dB of 16.9897 (51/255 is inexact in float32)
	assert_equal "$(printf '%s\n' "${lines[2]}" |
		awk -F '\t' '{ d = $2 - 0.02; e = $3 - 16.989700043; print $1, (d * d < 1e-14 && e * e < 1e-10) }')" "1 1"
	run -0 mse "$d/a.npy" "$d/a.npy"
	assert_output "$(printf 'mse\t0\npsnr\tinf')"
}

@test "mse: streams of different lengths or shapes are errors naming which" {
	py - <<'EOF'
np.save(D + '/three.npy', np.zeros((3, 4, 4), np.float32))
np.save(D + '/two.npy', np.zeros((2, 4, 4), np.float32))
np.save(D + '/wide.npy', np.zeros((3, 4, 5), np.float32))
np.save(D + '/none.npy', np.zeros((0, 4, 4), np.float32))
EOF
	local d="$BATS_FILE_TMPDIR"
	run -1 mse "$d/three.npy" "$d/two.npy"
	assert_output --regexp '^mse: B .*two\.npy ends after 2 samples, A .*three\.npy has more$'
	assert_equal "${#lines[@]}" 1
	run -1 mse "$d/two.npy" "$d/three.npy"
	assert_output --regexp '^mse: A .*two\.npy ends after 2 samples, B .*three\.npy has more$'
	assert_equal "${#lines[@]}" 1
	run -1 mse "$d/three.npy" "$d/wide.npy"
	assert_output --regexp '^mse: A .*three\.npy has samples of 4x4, B .*wide\.npy of 4x5$'
	assert_equal "${#lines[@]}" 1
	run -1 mse "$d/none.npy" "$d/none.npy"
	assert_output --regexp '^mse: no samples in '
	assert_equal "${#lines[@]}" 1
	run -1 mse "$d/three.npy" "$d/missing.npy"
	assert_output --regexp '^mse: cannot open .*missing\.npy: '
	assert_equal "${#lines[@]}" 1
}

@test "mse: usage errors exit 2" {
	run -2 mse "$IMAGES"
	assert_line --index 0 --regexp '^mse: missing operand'
	run -2 mse - -
	assert_line --index 0 --regexp '^mse: A and B cannot both be standard input'
	run -2 mse "$IMAGES" "$IMAGES" "$IMAGES"
	assert_line --index 0 --regexp "^mse: extra operand"
	run -2 mse --bogus "$IMAGES" "$IMAGES"
}

@test "mse: man page lints clean" {
	run -0 mandoc -T lint -W warning "$ROOT/man/man1/mse.1"
	assert_output ""
}
