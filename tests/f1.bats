#!/usr/bin/env bats
# f1: classification scores checked against numpy on the MNIST fixture's
# labels and hand-made predictions. Ratios are compared with abs diff
# < 1e-6 (printed with 8 significant digits); counts exactly.
load helper
bats_require_minimum_version 1.5.0

PY_DEFS=$(cat <<'PYEOF'
D = os.environ['BATS_FILE_TMPDIR']
def tsv(p):
    return dict((l.split('\t')[0], float(l.split('\t')[1])) for l in open(p))
PYEOF
)

setup_file() {
	# pred: the true label for most samples, a wrong one for every 7th,
	# class 3 never predicted (always called 5), class 9 predicted where
	# it is never true; with -c 11 class 10 is absent everywhere;
	# prob: 11 scores a sample whose argmax is pred
	py - "$LABELS" <<'EOF'
lab = load(sys.argv[1]).astype(np.int64)
pred = lab.copy()
pred[::7] = (pred[::7] + 3) % 10
pred[lab == 3] = 5
lab9 = lab.copy(); lab9[lab9 == 9] = 8      # no true 9, yet 9 predicted
np.save(D + '/truth.npy', lab9.astype(np.uint8))
np.save(D + '/pred.npy', pred.astype(np.uint8))
r = np.random.default_rng(3)
prob = r.random((500, 11), dtype=np.float32) * 0.5
prob[np.arange(500), pred] = 0.9
np.save(D + '/prob.npy', prob)
np.save(D + '/predf.npy', pred.astype(np.float32))
EOF
}

# check TRUTH PRED K OUT: every figure of OUT against numpy, K classes
check() {
	py - "$@" <<'EOF'
t = load(sys.argv[1]).astype(np.int64); p = load(sys.argv[2])
if p.ndim == 2: p = p.argmax(1)
p = p.astype(np.int64); K = int(sys.argv[3]); got = tsv(sys.argv[4])
want = {}
tp = np.array([((t == k) & (p == k)).sum() for k in range(K)], float)
sup = np.array([(t == k).sum() for k in range(K)], float)
npr = np.array([(p == k).sum() for k in range(K)], float)
prec = np.where(npr > 0, tp / np.maximum(npr, 1), 0)
rec = np.where(sup > 0, tp / np.maximum(sup, 1), 0)
f = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-300), 0)
live = (sup + npr) > 0
want['accuracy'] = (t == p).mean()
want['macro_f1'] = f[live].mean()
want['weighted_f1'] = (f * sup).sum() / len(t)
want['macro_precision'] = prec[live].mean()
want['macro_recall'] = rec[live].mean()
want['samples'] = len(t)
for k in range(K):
    for n, v in (('precision', prec), ('recall', rec), ('f1', f)):
        want['%s_%d' % (n, k)] = v[k] if live[k] else float('nan')
    want['support_%d' % k] = sup[k]
assert list(got) == list(want), (list(got), list(want))
for k in want:
    if np.isnan(want[k]):
        assert np.isnan(got[k]), k
    else:
        tol = 0 if k.startswith('support') or k == 'samples' else 1e-6
        assert abs(got[k] - want[k]) <= tol, (k, got[k], want[k])
print('ok')
EOF
}

@test "f1: --help and --version" {
	run -0 f1 --help
	assert_output --partial "Usage: f1"
	run -0 f1 --version
	assert_output --regexp '^f1 \(segpipe\) '
}

@test "f1: labels against labels match numpy" {
	D=$BATS_FILE_TMPDIR
	f1 "$D/truth.npy" "$D/pred.npy" > "$D/out.tsv"
	run -0 check "$D/truth.npy" "$D/pred.npy" 10 "$D/out.tsv"
	assert_output ok
	# the data exercise the edge cases: class 3 never predicted, 9 never true
	run -0 grep -x -e 'precision_3	0' -e 'recall_9	0' -e 'support_9	0' "$D/out.tsv"
	assert_equal "${#lines[@]}" 3
}

@test "f1: -C 11 leaves a class absent from both out, as nan" {
	D=$BATS_FILE_TMPDIR
	f1 -C 11 "$D/truth.npy" "$D/pred.npy" > "$D/out11.tsv"
	run -0 check "$D/truth.npy" "$D/pred.npy" 11 "$D/out11.tsv"
	assert_output ok
	run -0 grep -c nan "$D/out11.tsv"
	assert_output 3
}

@test "f1: class scores are taken by argmax; the same figures as labels" {
	D=$BATS_FILE_TMPDIR
	f1 "$D/truth.npy" "$D/prob.npy" > "$D/prob.tsv"
	run -0 check "$D/truth.npy" "$D/prob.npy" 11 "$D/prob.tsv"
	assert_output ok
	f1 -C 11 "$D/truth.npy" "$D/pred.npy" > "$D/lab.tsv"
	cmp "$D/prob.tsv" "$D/lab.tsv"
	# float labels, an IDX truth file, PRED on stdin
	f1 "$LABELS" "$D/predf.npy" > "$D/a.tsv"
	f1 "$LABELS" - < "$D/pred.npy" > "$D/b.tsv"
	cmp "$D/a.tsv" "$D/b.tsv"
	run -0 check "$LABELS" "$D/pred.npy" 10 "$D/a.tsv"
	assert_output ok
}

@test "f1: --confusion writes the matrix, rows truth, columns prediction" {
	D=$BATS_FILE_TMPDIR
	f1 --confusion "$D/conf.tsv" "$D/truth.npy" "$D/prob.npy" > /dev/null
	run -0 py - "$D/truth.npy" "$D/pred.npy" "$D/conf.tsv" <<'EOF'
t = load(sys.argv[1]).astype(int); p = load(sys.argv[2]).astype(int)
lines = open(sys.argv[3]).read().splitlines()
assert lines[0] == 'truth\\pred\t' + '\t'.join(map(str, range(11))), lines[0]
m = np.zeros((11, 11), int)
np.add.at(m, (t, p), 1)
got = np.array([[int(v) for v in l.split('\t')] for l in lines[1:]])
assert (got[:, 0] == np.arange(11)).all() and (got[:, 1:] == m).all()
print('ok')
EOF
	assert_output ok
}

@test "f1: bad input is one clear line" {
	D=$BATS_FILE_TMPDIR
	py 'np.save(sys.argv[1], np.array([0, 1.5, 2], np.float32))' "$D/half.npy"
	py 'np.save(sys.argv[1], np.array([0, 1, 2], np.uint8))' "$D/three.npy"
	py 'np.save(sys.argv[1], np.array([[0.5, np.nan], [1, 0], [0, 1]], np.float32))' "$D/nan.npy"
	py 'np.save(sys.argv[1], np.zeros((0,), np.uint8))' "$D/empty.npy"
	run -1 f1 "$D/three.npy" "$D/pred.npy"
	assert_output "f1: TRUTH $D/three.npy ends after 3 samples, PRED $D/pred.npy has more"
	run -1 f1 "$D/pred.npy" "$D/three.npy"
	assert_output "f1: PRED $D/three.npy ends after 3 samples, TRUTH $D/pred.npy has more"
	run -1 f1 -C 2 "$D/three.npy" "$D/three.npy"
	assert_output "f1: TRUTH label value 2 at element 0 is not an integer in 0..1 ($D/three.npy, sample 2)"
	run -1 f1 "$D/three.npy" "$D/half.npy"
	assert_output "f1: PRED label value 1.5 at element 0 is not an integer in 0..65535 ($D/half.npy, sample 1)"
	run -1 f1 "$D/three.npy" "$D/nan.npy"
	assert_output "f1: PRED score 1 is NaN ($D/nan.npy, sample 0)"
	run -1 f1 -C 5 "$D/truth.npy" "$D/prob.npy"
	assert_output "f1: PRED holds scores of 11 classes, not --classes 5 ($D/prob.npy)"
	run -1 f1 "$D/prob.npy" "$D/prob.npy"
	assert_output "f1: TRUTH labels must be scalars, not shape 11 ($D/prob.npy)"
	run -1 f1 "$D/empty.npy" "$D/empty.npy"
	assert_output "f1: no samples in $D/empty.npy and $D/empty.npy"
	run -2 f1 - -
	assert_output --partial "cannot both be standard input"
	run -2 f1 "$D/three.npy"
	assert_line --index 0 --partial "f1: "
	run -2 f1 -C 0 "$D/three.npy" "$D/three.npy"
	assert_output --partial "--classes: '0' is not an integer"
	# nothing half-written: a failed run leaves no confusion file
	run -1 f1 --confusion "$D/none.tsv" "$D/three.npy" "$D/pred.npy"
	[ ! -e "$D/none.tsv" ]
	run bash -c 'f1 "$1" "$1" 2>&1 >/dev/full' _ "$D/three.npy"
	assert_failure 1
	assert_output "f1: write error: No space left on device"
}
