#!/usr/bin/env bats
# tsne: clusters that are apart in 50-D stay apart in 2-D; the seed's bytes
# on any thread count; bad input.
load helper
bats_require_minimum_version 1.5.0

PY_DEFS=$(cat <<'PYEOF'
D = os.environ['BATS_FILE_TMPDIR']
# same10: the fraction of each point's 10 nearest 2-D neighbours that
# share its label
def same10(Y, lab):
    Y = Y.astype(np.float64)
    d = ((Y[:, None] - Y[None]) ** 2).sum(-1); np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, 1)[:, :10]
    return (lab[nn] == lab[:, None]).mean()
PYEOF
)

setup_file() {
	# 5 Gaussian clusters of 60 points in 50-D: centres N(0, 10^2) per
	# coordinate, points N(centre, 1): far apart against their spread
	py - <<'EOF'
r = np.random.default_rng(0)
c = r.normal(0, 10, (5, 50))
X = np.concatenate([c[k] + r.normal(0, 1, (60, 50)) for k in range(5)])
np.save(D + '/clusters.npy', X.astype(np.float32))
np.save(D + '/clusters64.npy', X.astype(np.float64))
np.save(D + '/labels.npy', np.repeat(np.arange(5), 60).astype(np.uint8))
np.save(D + '/three.npy', np.zeros((3, 5), np.float32))
np.save(D + '/fifty.npy', r.normal(0, 1, (50, 4)).astype(np.float32))
x = r.normal(0, 1, (10, 4)).astype(np.float32); x[4, 2] = np.nan
np.save(D + '/nan.npy', x)
EOF
}

@test "tsne: --help and --version" {
	run -0 tsne --help
	assert_output --partial "Usage: tsne"
	run -0 tsne --version
	assert_output --regexp '^tsne \(segpipe\) '
}

@test "tsne: 5 clusters in 50-D stay apart in 2-D (>= 95% of 10 nearest in the same cluster)" {
	D=$BATS_FILE_TMPDIR
	tsne "$D/clusters.npy" > "$D/y.npy"
	run -0 py 'Y = load(sys.argv[1]); print(Y.dtype, Y.shape, same10(Y, load(sys.argv[2])) >= 0.95)' \
		"$D/y.npy" "$D/labels.npy"
	assert_output "float32 (300, 2) True"
	# the exact gradient (theta 0) and another perplexity too; float64 input
	tsne --theta 0 --perplexity 10 --iterations 500 "$D/clusters64.npy" > "$D/y0.npy"
	run -0 py 'print(same10(load(sys.argv[1]), load(sys.argv[2])) >= 0.95)' "$D/y0.npy" "$D/labels.npy"
	assert_output True
}

@test "tsne: the KL divergence reported matches numpy's from P made as the man page says" {
	# P by numpy: data centred and scaled, k = 3 perplexity nearest, the
	# bisection on the precision, (P + P^T) / sum; Q exact at the points
	# written (theta 0). Tolerance 1e-4 on a KL near 0.5 (the points are
	# written in float32; the rest is double on both sides).
	D=$BATS_FILE_TMPDIR
	tsne -v --theta 0 --perplexity 10 --iterations 300 "$D/clusters.npy" > "$D/kl.npy" 2> "$D/kl.log"
	run -0 py - "$D/clusters.npy" "$D/kl.npy" "$D/kl.log" <<'EOF'
X = load(sys.argv[1]).astype(np.float64); Y = load(sys.argv[2]).astype(np.float64)
got = float(open(sys.argv[3]).read().split('\n')[-2].split()[5])
X -= X.mean(0); X /= np.abs(X).max()
n, perp = len(X), 10.0; k = int(3 * perp)
d2 = ((X[:, None] - X[None]) ** 2).sum(-1); np.fill_diagonal(d2, np.inf)
P = np.zeros((n, n))
for i in range(n):
    nb = np.argsort(d2[i], kind='stable')[:k]; d = d2[i, nb] - d2[i, nb].min()
    beta, lo, hi = 1.0, -np.inf, np.inf
    for it in range(200):
        p = np.exp(-beta * d); s = p.sum(); h = beta * (d * p).sum() / s + np.log(s)
        if abs(h - np.log(perp)) < 1e-5: break
        if h > np.log(perp):
            lo = beta; beta = beta * 2 if hi == np.inf else (beta + hi) / 2
        else:
            hi = beta; beta = beta / 2 if lo == -np.inf else (beta + lo) / 2
    p = np.exp(-beta * d); P[i, nb] = p / p.sum()
P = P + P.T; P /= P.sum()
q = 1 / (1 + ((Y[:, None] - Y[None]) ** 2).sum(-1)); np.fill_diagonal(q, 0); Q = q / q.sum()
m = P > 0
want = (P[m] * np.log(P[m] / Q[m])).sum()
assert abs(got - want) < 1e-4 and 0.05 < want < 5, (got, want)
print('ok')
EOF
	assert_output ok
}

@test "tsne: the same seed gives the same bytes on 1 and 2 threads; another seed does not" {
	D=$BATS_FILE_TMPDIR
	tsne --iterations 300 -s 5 -j 1 "$D/clusters.npy" > "$D/a.npy"
	tsne --iterations 300 -s 5 -j 2 "$D/clusters.npy" > "$D/b.npy"
	tsne --iterations 300 -s 5 -j 2 < "$D/clusters.npy" > "$D/c.npy"
	tsne --iterations 300 -s 6 -j 2 "$D/clusters.npy" > "$D/d.npy"
	cmp "$D/a.npy" "$D/b.npy"
	cmp "$D/b.npy" "$D/c.npy"
	! cmp -s "$D/a.npy" "$D/d.npy"
}

@test "tsne: images are flattened; -v reports a falling KL divergence" {
	D=$BATS_FILE_TMPDIR
	pick -n 100 "$IMAGES" | tsne -v --perplexity 10 --iterations 400 > "$D/img.npy" 2> "$D/log"
	run -0 npy_eval "$D/img.npy" 'a.dtype, a.shape'
	assert_output "(dtype('float32'), (100, 2))"
	run -0 grep -c '^tsne: iteration [0-9]*: KL divergence [0-9.]* ' "$D/log"
	assert_output 8
	# after the early exaggeration (250 iterations) the divergence falls
	run -0 awk '/iteration 300:/ { a = $6 } /iteration 400:/ { b = $6 } END { print (b < a && b > 0) }' "$D/log"
	assert_output 1
}

@test "tsne: bad input is one clear line" {
	D=$BATS_FILE_TMPDIR
	run -1 tsne "$D/three.npy"
	assert_output "tsne: 3 samples are too few for t-SNE: it needs at least 4 ($D/three.npy)"
	run -1 tsne "$D/fifty.npy"
	assert_output "tsne: perplexity 30 is too large for 50 samples: 3 x perplexity must be at most N - 1, so at most 16.33 ($D/fifty.npy)"
	run -0 tsne --perplexity 16 --iterations 10 "$D/fifty.npy"
	run -1 tsne --perplexity 2 "$D/nan.npy"
	assert_output "tsne: value nan at element 2 is not finite ($D/nan.npy, sample 4)"
	run -2 tsne --perplexity 0.5 "$D/fifty.npy"
	assert_line --index 0 --partial "--perplexity: '0.5' is not a number in 1..1e+06"
	run -2 tsne --theta 1.5 "$D/fifty.npy"
	assert_line --index 0 --partial "--theta: '1.5' is not a number in 0..1"
	run -2 tsne --iterations 0 "$D/fifty.npy"
	assert_line --index 0 --partial "--iterations: '0' is not an integer"
	run -2 tsne "$D/fifty.npy" "$D/fifty.npy"
	assert_line --index 0 --partial "tsne: "
	py 'np.save(sys.argv[1], np.zeros((0, 5), np.float32))' "$D/empty.npy"
	run -1 tsne "$D/empty.npy"
	assert_output "tsne: 0 samples are too few for t-SNE: it needs at least 4 ($D/empty.npy)"
	run bash -c 'tsne --iterations 5 "$1" 2>&1 >/dev/full' _ "$D/clusters.npy"
	assert_failure 1
	assert_output "tsne: write error: No space left on device"
}
