#!/usr/bin/env bats
# iou: checked against numpy on the MNIST fixture and on hand-made cases.
# Ratios are compared with abs diff < 1e-6 (printed with 8 significant
# digits); pixel counts exactly.
load helper
bats_require_minimum_version 1.5.0

# PY_DEFS, for the python each py - ARGS <<EOF reads from stdin: `D` the
# per-file scratch directory, tsv(path) the name->value lines of a file.
PY_DEFS=$(cat <<'PYEOF'
D = os.environ['BATS_FILE_TMPDIR']
def tsv(p):
    return dict((l.split('\t')[0], float(l.split('\t')[1])) for l in open(p))
PYEOF
)

setup_file() {
	# truth: a fixed-threshold mask; pred: the images shifted one pixel
	# right, as float "probabilities"; predu8: the truth with 3% of pixels
	# flipped, as a uint8 0/1 mask; class maps: (mask) * (label + 1).
	py - "$IMAGES" "$LABELS" <<'EOF'
img = load(sys.argv[1]); lab = load(sys.argv[2])
truth = (img > 100).astype(np.uint8)
np.save(D + '/truth.npy', truth)
np.save(D + '/pred.npy', np.roll(img / 255.0, 1, axis=2).astype(np.float32))
r = np.random.default_rng(1)
np.save(D + '/predu8.npy', truth ^ (r.random(truth.shape) < 0.03).astype(np.uint8))
cls = truth * (lab[:, None, None] + 1).astype(np.uint8)
np.save(D + '/cls_truth.npy', cls)
pc = np.roll(cls, 1, axis=1)
pc[:50] = (pc[:50] + 1) % 11            # some wrong classes too
np.save(D + '/cls_pred.npy', pc)
onehot = (np.arange(11)[None, :, None, None] == pc[:, None]).astype(np.float32)
np.save(D + '/cls_prob.npy', onehot * 0.8 + r.random(onehot.shape, dtype=np.float32) * 0.1)
EOF
}

# binary_check PRED TRUTH T OUT: the pooled figures in OUT against numpy.
binary_check() {
	py - "$@" <<'EOF'
p = load(sys.argv[1]).reshape(500, -1) > float(sys.argv[3])
t = load(sys.argv[2]).reshape(500, -1) != 0
got = tsv(sys.argv[4])
tp = (p & t).sum(); fp = (p & ~t).sum(); fn = (~p & t).sum(); tn = (~p & ~t).sum()
u = (p | t).sum(1)
per = np.where(u == 0, 1.0, (p & t).sum(1) / np.maximum(u, 1))
want = dict(iou=tp / (tp + fp + fn), iou_mean=per.mean(), dice=2 * tp / (2 * tp + fp + fn),
            precision=tp / (tp + fp), recall=tp / (tp + fn), tp=tp, fp=fp, fn=fn, tn=tn)
assert list(got) == list(want), list(got)
for k in want:
    tol = 0 if k in ('tp', 'fp', 'fn', 'tn') else 1e-6
    assert abs(got[k] - want[k]) <= tol, (k, got[k], want[k])
print('ok')
EOF
}

@test "iou: --help and --version" {
	run -0 iou --help
	assert_output --partial "Usage: iou"
	run -0 iou --version
	assert_output --regexp "^iou \(segpipe\) [0-9.]+$"
}

@test "iou: float probabilities vs uint8 masks match numpy (fixture)" {
	iou "$BATS_FILE_TMPDIR/pred.npy" "$BATS_FILE_TMPDIR/truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 binary_check "$BATS_FILE_TMPDIR/pred.npy" "$BATS_FILE_TMPDIR/truth.npy" 0.5 "$BATS_TEST_TMPDIR/out"
	assert_output ok
}

@test "iou: --threshold 0.3 matches numpy; a uint8 0/1 mask works with the default" {
	iou -t 0.3 "$BATS_FILE_TMPDIR/pred.npy" "$BATS_FILE_TMPDIR/truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 binary_check "$BATS_FILE_TMPDIR/pred.npy" "$BATS_FILE_TMPDIR/truth.npy" 0.3 "$BATS_TEST_TMPDIR/out"
	assert_output ok
	iou "$BATS_FILE_TMPDIR/predu8.npy" "$BATS_FILE_TMPDIR/truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 binary_check "$BATS_FILE_TMPDIR/predu8.npy" "$BATS_FILE_TMPDIR/truth.npy" 0.5 "$BATS_TEST_TMPDIR/out"
	assert_output ok
}

@test "iou: a 0/255 PGM mask, gzip IDX and stdin are all read" {
	otsu -P "$IMAGES" > "$BATS_TEST_TMPDIR/m.pgm"
	otsu "$IMAGES" > "$BATS_TEST_TMPDIR/m.npy"
	run -0 iou - "$BATS_TEST_TMPDIR/m.npy" < "$BATS_TEST_TMPDIR/m.pgm"
	assert_line --index 0 "iou	1"
	assert_line --index 4 "recall	1"
	assert_line --index 6 "fp	0"
	# the raw images as PRED are not a prediction (tests/roles.bats), but
	# with -t the threshold is in their stored units: every nonzero pixel
	iou -t 0.5 "$IMAGES" "$BATS_TEST_TMPDIR/m.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 binary_check "$IMAGES" "$BATS_TEST_TMPDIR/m.npy" 0.5 "$BATS_TEST_TMPDIR/out"
	assert_output ok
}

@test "iou: hand-made 2x2 case with known answers" {
	py - <<'EOF'
np.save(D + '/p.npy', np.array([[[.9, .2], [.6, .1]], [[.1, .1], [.1, .1]]], np.float32))
np.save(D + '/t.npy', np.array([[[1, 0], [0, 0]], [[0, 0], [0, 0]]], np.uint8))
EOF
	# sample 0: tp 1 fp 1 fn 0 tn 2 (IoU 1/2); sample 1: both empty (IoU 1)
	run -0 iou "$BATS_FILE_TMPDIR/p.npy" "$BATS_FILE_TMPDIR/t.npy"
	assert_output "$(printf 'iou\t0.5\niou_mean\t0.75\ndice\t0.66666667\nprecision\t0.5\nrecall\t1\ntp\t1\nfp\t1\nfn\t0\ntn\t6')"
	run -0 iou --threshold 0.65 "$BATS_FILE_TMPDIR/p.npy" "$BATS_FILE_TMPDIR/t.npy"
	assert_output "$(printf 'iou\t1\niou_mean\t1\ndice\t1\nprecision\t1\nrecall\t1\ntp\t1\nfp\t0\nfn\t0\ntn\t7')"
	run -0 iou --per-sample "$BATS_FILE_TMPDIR/p.npy" "$BATS_FILE_TMPDIR/t.npy"
	assert_output "$(printf 'index\tiou\tdice\tprecision\trecall\ttp\tfp\tfn\ttn\n0\t0.5\t0.66666667\t0.5\t1\t1\t1\t0\t2\n1\t1\t1\t1\t1\t0\t0\t0\t4')"
}

@test "iou: degenerate cases (empty prediction and/or truth)" {
	py - <<'EOF'
np.save(D + '/zero.npy', np.zeros((2, 3, 3), np.uint8))
np.save(D + '/one.npy', np.ones((2, 3, 3), np.uint8))
EOF
	# both empty everywhere: every ratio is 1
	run -0 iou "$BATS_FILE_TMPDIR/zero.npy" "$BATS_FILE_TMPDIR/zero.npy"
	assert_output "$(printf 'iou\t1\niou_mean\t1\ndice\t1\nprecision\t1\nrecall\t1\ntp\t0\nfp\t0\nfn\t0\ntn\t18')"
	# nothing predicted, all true: precision's 0/0 is 0 (truth not empty)
	run -0 iou "$BATS_FILE_TMPDIR/zero.npy" "$BATS_FILE_TMPDIR/one.npy"
	assert_output "$(printf 'iou\t0\niou_mean\t0\ndice\t0\nprecision\t0\nrecall\t0\ntp\t0\nfp\t0\nfn\t18\ntn\t0')"
	# all predicted, nothing true: recall's 0/0 is 0
	run -0 iou "$BATS_FILE_TMPDIR/one.npy" "$BATS_FILE_TMPDIR/zero.npy"
	assert_output "$(printf 'iou\t0\niou_mean\t0\ndice\t0\nprecision\t0\nrecall\t0\ntp\t0\nfp\t18\nfn\t0\ntn\t0')"
}

@test "iou: --per-sample rows match numpy per image (fixture)" {
	iou -p "$BATS_FILE_TMPDIR/pred.npy" "$BATS_FILE_TMPDIR/truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 py - "$BATS_FILE_TMPDIR/pred.npy" "$BATS_FILE_TMPDIR/truth.npy" "$BATS_TEST_TMPDIR/out" <<'EOF'
p = load(sys.argv[1]).reshape(500, -1) > 0.5
t = load(sys.argv[2]).reshape(500, -1) != 0
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[3])]
assert rows[0] == 'index iou dice precision recall tp fp fn tn'.split(), rows[0]
assert len(rows) == 501
g = np.array(rows[1:], float)
tp = (p & t).sum(1); fp = (p & ~t).sum(1); fn = (~p & t).sum(1); tn = (~p & ~t).sum(1)
empty = tp + fp + fn == 0
def r(a, b): return np.where(b == 0, np.where(empty, 1.0, 0.0), a / np.maximum(b, 1))
want = np.stack([np.arange(500), r(tp, tp + fp + fn), r(2 * tp, 2 * tp + fp + fn),
                 r(tp, tp + fp), r(tp, tp + fn), tp, fp, fn, tn], 1)
assert np.abs(g - want).max() < 1e-6, np.abs(g - want).max()
print('ok')
EOF
	assert_output ok
}

# class_check PRED TRUTH OUT IGNORED...: the class figures against numpy.
class_check() {
	py - "$@" <<'EOF'
t = load(sys.argv[2]).reshape(500, -1)
pr = load(sys.argv[1])
p = pr.argmax(1).reshape(500, -1) if pr.ndim == 4 else pr.reshape(500, -1)
ign = [int(x) for x in sys.argv[4:]]
got = tsv(sys.argv[3]); want = {}; ious = []; dices = []; precs = []; recs = []
for c in range(11):
    a = p == c; b = t == c; i = (a & b).sum(); u = (a | b).sum(); s = a.sum() + b.sum()
    want['iou_%d' % c] = i / u if u else np.nan
    want['dice_%d' % c] = 2 * i / s if s else np.nan
    want['precision_%d' % c] = (i / a.sum() if a.sum() else 0) if u else np.nan
    want['recall_%d' % c] = (i / b.sum() if b.sum() else 0) if u else np.nan
    if u and c not in ign:
        ious.append(i / u); dices.append(2 * i / s)
        precs.append(want['precision_%d' % c]); recs.append(want['recall_%d' % c])
want['mean_iou'] = np.mean(ious); want['mean_dice'] = np.mean(dices)
want['mean_precision'] = np.mean(precs); want['mean_recall'] = np.mean(recs)
if any(k.startswith('confusion_') for k in got):
    for tc in range(11):
        for pc in range(11):
            want['confusion_%d_%d' % (tc, pc)] = ((t == tc) & (p == pc)).sum()
assert list(got) == list(want), list(got)
for k in want:
    assert abs(got[k] - want[k]) < 1e-6, (k, got[k], want[k])
print('ok')
EOF
}

@test "iou: --classes 11 per class and means match numpy, with --ignore" {
	local d="$BATS_FILE_TMPDIR"
	iou -C 11 "$d/cls_pred.npy" "$d/cls_truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 class_check "$d/cls_pred.npy" "$d/cls_truth.npy" "$BATS_TEST_TMPDIR/out"
	assert_output ok
	iou --classes 11 --ignore 0 "$d/cls_pred.npy" "$d/cls_truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 class_check "$d/cls_pred.npy" "$d/cls_truth.npy" "$BATS_TEST_TMPDIR/out" 0
	assert_output ok
	# a list and a repeat add up
	iou -C 11 -i 0,5 --ignore=3 "$d/cls_pred.npy" "$d/cls_truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 class_check "$d/cls_pred.npy" "$d/cls_truth.npy" "$BATS_TEST_TMPDIR/out" 0 5 3
	assert_output ok
	# the confusion counts: pixels of true class T predicted P
	iou -C 11 -i 0 --confusion "$d/cls_pred.npy" "$d/cls_truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 class_check "$d/cls_pred.npy" "$d/cls_truth.npy" "$BATS_TEST_TMPDIR/out" 0
	assert_output ok
	run -2 iou --confusion "$d/cls_pred.npy" "$d/cls_truth.npy"
	assert_output --partial "--confusion needs --classes"
}

@test "iou: --classes takes the argmax of an N-channel PRED" {
	local d="$BATS_FILE_TMPDIR"
	iou -C 11 -i 0 "$d/cls_prob.npy" "$d/cls_truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 class_check "$d/cls_prob.npy" "$d/cls_truth.npy" "$BATS_TEST_TMPDIR/out" 0
	assert_output ok
	iou -C 11 -i 0 "$d/cls_pred.npy" "$d/cls_truth.npy" > "$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
}

@test "iou: --classes hand-made: an absent class is nan and left out of the mean" {
	py - <<'EOF'
np.save(D + '/cp.npy', np.array([[[0, 1], [2, 2]]], np.uint8))
np.save(D + '/ct.npy', np.array([[[0, 1], [1, 2]]], np.uint8))
EOF
	# class 0: 1/1; class 1: 1/2 (dice 2/3); class 2: 1/2; class 3 absent
	run -0 iou -C 4 -i 0 "$BATS_FILE_TMPDIR/cp.npy" "$BATS_FILE_TMPDIR/ct.npy"
	# precision: class 1 1/1, class 2 1/2; recall: class 1 1/2, class 2 1/1
	assert_output "$(printf 'iou_0\t1\ndice_0\t1\nprecision_0\t1\nrecall_0\t1\niou_1\t0.5\ndice_1\t0.66666667\nprecision_1\t1\nrecall_1\t0.5\niou_2\t0.5\ndice_2\t0.66666667\nprecision_2\t0.5\nrecall_2\t1\niou_3\tnan\ndice_3\tnan\nprecision_3\tnan\nrecall_3\tnan\nmean_iou\t0.5\nmean_dice\t0.66666667\nmean_precision\t0.75\nmean_recall\t0.75')"
	# only ignored classes present: the means are 1 (nothing to get wrong)
	run -0 iou -C 4 -i 1,2 -p "$BATS_FILE_TMPDIR/cp.npy" "$BATS_FILE_TMPDIR/ct.npy"
	assert_line --index 0 "$(printf 'index\tmean_iou\tmean_dice\tiou_0\tdice_0\tiou_1\tdice_1\tiou_2\tdice_2\tiou_3\tdice_3')"
	assert_line --index 1 "$(printf '0\t1\t1\t1\t1\t0.5\t0.66666667\t0.5\t0.66666667\tnan\tnan')"
	run -0 iou -C 4 -i 0,1,2 "$BATS_FILE_TMPDIR/cp.npy" "$BATS_FILE_TMPDIR/ct.npy"
	assert_line --index 16 "$(printf 'mean_iou\t1')"
}

@test "iou --errors: 0 right, 1 missed, 2 false, 3 the wrong class, a map per sample" {
	local d="$BATS_TEST_TMPDIR"
	py - <<'EOF'
np.save(D + '/ep.npy', np.array([[[0, 1], [2, 0]], [[1, 1], [0, 3]]], np.uint8))
np.save(D + '/et.npy', np.array([[[0, 1], [1, 2]], [[0, 2], [0, 3]]], np.uint8))
# the same as 0/1 masks (foreground: a digit), for the binary maps
np.save(D + '/bp.npy', (np.load(D + '/ep.npy') > 0).astype(np.uint8))
np.save(D + '/bt.npy', (np.load(D + '/et.npy') > 0).astype(np.uint8))
EOF
	run -0 iou -C 4 --errors "$d/e.npy" "$BATS_FILE_TMPDIR/ep.npy" "$BATS_FILE_TMPDIR/et.npy"
	run -0 npy_eval "$d/e.npy" 'a.dtype == np.uint8 and a.tolist() == [[[0, 0], [3, 1]], [[2, 3], [0, 0]]]'
	assert_output True
	# binary: foreground missed 1, falsely found 2
	run -0 iou --errors "$d/b.npy" "$BATS_FILE_TMPDIR/bp.npy" "$BATS_FILE_TMPDIR/bt.npy"
	run -0 npy_eval "$d/b.npy" 'a.tolist() == [[[0, 0], [0, 1]], [[2, 0], [0, 0]]]'
	assert_output True
	# nothing half-written on an error
	run -1 iou -C 2 --errors "$d/x.npy" "$BATS_FILE_TMPDIR/ep.npy" "$BATS_FILE_TMPDIR/et.npy"
	[ ! -e "$d/x.npy" ]
}

@test "iou: --classes --per-sample rows match numpy per image (fixture)" {
	local d="$BATS_FILE_TMPDIR"
	iou -C 11 -i 0 -p "$d/cls_pred.npy" "$d/cls_truth.npy" > "$BATS_TEST_TMPDIR/out"
	run -0 py - "$d/cls_pred.npy" "$d/cls_truth.npy" "$BATS_TEST_TMPDIR/out" <<'EOF'
p = load(sys.argv[1]).reshape(500, -1); t = load(sys.argv[2]).reshape(500, -1)
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[3])]
assert rows[0][:3] == ['index', 'mean_iou', 'mean_dice'] and rows[0][-1] == 'dice_10'
assert len(rows) == 501
g = np.array(rows[1:], float)
for n in range(500):
    want = [n]; ious = []; dices = []
    for c in range(11):
        a = p[n] == c; b = t[n] == c; i = (a & b).sum(); u = (a | b).sum()
        iu = i / u if u else np.nan; di = 2 * i / (a.sum() + b.sum()) if u else np.nan
        want += [iu, di]
        if u and c != 0:
            ious.append(iu); dices.append(di)
    want[1:1] = [np.mean(ious) if ious else 1.0, np.mean(dices) if dices else 1.0]
    assert np.allclose(g[n], want, rtol=0, atol=1e-6, equal_nan=True), (n, g[n], want)
print('ok')
EOF
	assert_output ok
}

@test "iou: a class index >= N is an error naming the sample" {
	py - <<'EOF'
np.save(D + '/bad.npy', np.array([[[0, 1]], [[1, 11]]], np.uint8))
np.save(D + '/ok.npy', np.array([[[0, 1]], [[1, 1]]], np.uint8))
np.save(D + '/frac.npy', np.array([[[0, 1]], [[1, 0.5]]], np.float32))
EOF
	run -1 iou -C 11 "$BATS_FILE_TMPDIR/bad.npy" "$BATS_FILE_TMPDIR/ok.npy"
	assert_output --regexp '^iou: PRED value 11 .*not an integer in 0\.\.10 \(.*bad\.npy, sample 1\)$'
	assert_equal "${#lines[@]}" 1
	run -1 iou -C 11 "$BATS_FILE_TMPDIR/ok.npy" "$BATS_FILE_TMPDIR/bad.npy"
	assert_output --regexp '^iou: TRUTH value 11 .*bad\.npy, sample 1\)$'
	assert_equal "${#lines[@]}" 1
	run -1 iou -C 11 "$BATS_FILE_TMPDIR/frac.npy" "$BATS_FILE_TMPDIR/ok.npy"
	assert_output --regexp '^iou: PRED value 0\.5 .*frac\.npy, sample 1\)$'
	assert_equal "${#lines[@]}" 1
}

@test "iou: streams of different lengths or shapes are errors naming which" {
	py - <<'EOF'
np.save(D + '/three.npy', np.zeros((3, 4, 4), np.uint8))
np.save(D + '/two.npy', np.zeros((2, 4, 4), np.uint8))
np.save(D + '/wide.npy', np.zeros((3, 4, 5), np.uint8))
np.save(D + '/none.npy', np.zeros((0, 4, 4), np.uint8))
EOF
	local d="$BATS_FILE_TMPDIR"
	run -1 iou "$d/three.npy" "$d/two.npy"
	assert_output --regexp '^iou: TRUTH .*two\.npy ends after 2 samples, PRED .*three\.npy has more$'
	assert_equal "${#lines[@]}" 1
	run -1 iou "$d/two.npy" "$d/three.npy"
	assert_output --regexp '^iou: PRED .*two\.npy ends after 2 samples, TRUTH .*three\.npy has more$'
	assert_equal "${#lines[@]}" 1
	run -1 iou "$d/three.npy" "$d/wide.npy"
	assert_output --regexp '^iou: PRED .*three\.npy has samples of 4x4, TRUTH .*wide\.npy of 4x5$'
	assert_equal "${#lines[@]}" 1
	run -1 iou "$d/none.npy" "$d/none.npy"
	assert_output --regexp '^iou: no samples in '
	assert_equal "${#lines[@]}" 1
	run -1 iou "$d/three.npy" "$d/missing.npy"
	assert_output --regexp '^iou: cannot open .*missing\.npy: '
	assert_equal "${#lines[@]}" 1
}

@test "iou: usage errors exit 2" {
	local d="$BATS_FILE_TMPDIR"
	run -2 iou "$d/truth.npy"
	assert_line --index 0 --regexp '^iou: missing operand'
	run -2 iou - -
	assert_line --index 0 --regexp '^iou: PRED and TRUTH cannot both be standard input'
	run -2 iou -i 0 "$d/truth.npy" "$d/truth.npy"
	assert_line --index 0 --regexp '^iou: --ignore needs --classes'
	run -2 iou -C 11 -i 11 "$d/truth.npy" "$d/truth.npy"
	assert_line --index 0 --regexp '^iou: --ignore: class 11 is not below --classes 11'
	run -2 iou -C 0 "$d/truth.npy" "$d/truth.npy"
	assert_line --index 0 --regexp '^iou: --classes: '
	run -2 iou -t abc "$d/truth.npy" "$d/truth.npy"
	assert_line --index 0 --regexp '^iou: --threshold: '
	run -2 iou -C 3 -t 0.5 "$d/truth.npy" "$d/truth.npy"
	assert_line --index 0 --regexp '^iou: --threshold does not apply with --classes'
	run -2 iou --bogus "$d/truth.npy" "$d/truth.npy"
}

@test "iou: man page lints clean" {
	run -0 mandoc -T lint -W warning "$ROOT/man/man1/iou.1"
	assert_output ""
}
