#!/usr/bin/env bats
load helper
bats_require_minimum_version 1.5.0

# The digits 0, 1 and 7 of the 500-image fixture, labelled 0, 1, 2: the
# first 100 train (labels as a gzipped IDX file, as uint8, int32 and float32
# streams), the other 58 test. Another labelling of the same images, 0 and
# 1 against 7, is a second task for --init.
setup_file() {
	"$PY" -c '
import gzip, sys, numpy as np
d = sys.argv[3]
x = np.frombuffer(gzip.decompress(open(sys.argv[1], "rb").read()), np.uint8, offset=16).reshape(-1, 28, 28)
y = np.frombuffer(gzip.decompress(open(sys.argv[2], "rb").read()), np.uint8, offset=8)
keep = (y == 0) | (y == 1) | (y == 7)
x, y = x[keep], np.where(y[keep] == 7, 2, y[keep]).astype(np.uint8)
np.save(d + "/x.npy", x[:100]); np.save(d + "/xt.npy", x[100:])
np.save(d + "/y.npy", y[:100]); np.save(d + "/yt.npy", y[100:])
np.save(d + "/y32.npy", y[:100].astype(np.int32))
np.save(d + "/yf.npy", y[:100].astype(np.float32))
np.save(d + "/y2.npy", (y[:100] == 2).astype(np.uint8))
idx = (0x801).to_bytes(4, "big") + (100).to_bytes(4, "big") + y[:100].tobytes()
open(d + "/y.idx.gz", "wb").write(gzip.compress(idx))' "$IMAGES" "$LABELS" "$BATS_FILE_TMPDIR"
	D="$BATS_FILE_TMPDIR"
	# the network of every test: 3 stages of 2 convolutions, 8 filters
	train-cnn --filters 8 -e 8 -b 16 --lr 0.003 -j 1 -o "$D/a.model" "$D/x.npy" "$D/y.idx.gz" 2> /dev/null
}

setup() {
	T="$BATS_TEST_TMPDIR"
	D="$BATS_FILE_TMPDIR"
	NET="--filters 8 -b 16 --lr 0.003 -j 1"
	# PY_DEFS: the parameter offsets of a cnn model, from its header
	PY_DEFS='
def cnn_parts(hdr):
    """[(name, start, end)] of the parameters, in the documented order."""
    S, N, F, K = int(hdr["depth"]), int(hdr["convs"]), int(hdr["filters"]), int(hdr["classes"])
    ci, o, parts = int(hdr["in_channels"]), 0, []
    for s in range(S):
        for j in range(N):
            co = F << s
            n = co * ci * 9 + 3 * co
            parts.append(("stage %d conv %d" % (s + 1, j + 1), o, o + n)); o += n; ci = co
    parts.append(("head", o, o + K * ci + K))
    return parts'
}

@test "train-cnn: --help and --version" {
	run train-cnn --help
	assert_success
	assert_output --partial "Usage: train-cnn"
	run train-cnn --version
	assert_success
	assert_line --index 0 --regexp "^train-cnn \(segpipe\) [0-9.]+$"
	assert_line --index 1 --regexp '^kernel [a-z0-9-]+, precision (fp32|bf16)$'
}

@test "train-cnn: learns 3 digit classes from 100 images: test accuracy >= 0.85 (chance < 0.45)" {
	# 58 test images; the most frequent class is less than 45% of them
	predict --argmax "$D/a.model" "$D/xt.npy" > "$T/p.npy"
	run --separate-stderr py '
p, y = load(sys.argv[1]), load(sys.argv[2])
print(p.dtype, p.shape, np.bincount(y).max() / len(y) < 0.45)
acc = (p == y).mean()
print("accuracy", acc, file=sys.stderr)
print(acc >= 0.85)' "$T/p.npy" "$D/yt.npy"
	assert_success
	assert_output "uint8 (58,) True
True"
}

@test "train-cnn: the header, and the parameter count of the architecture" {
	run py '
hdr, p, s = read_model(sys.argv[1])
parts = cnn_parts(hdr)
print(hdr["kind"], hdr["depth"], hdr["convs"], hdr["filters"], hdr["activation"], hdr["dropout"],
      hdr["freeze"], hdr["loss"], hdr["classes"], hdr["out_channels"], hdr["height"], hdr["width"])
print(parts[-1][2] == len(p) == int(hdr["nparams"]), len(s) == 2 * (8 + 8 + 16 + 16 + 32 + 32))' "$D/a.model"
	assert_success
	assert_line --index 0 "cnn 3 2 8 relu 0 0 ce 3 3 28 28"
	assert_line --index 1 "True True"
	# the default network for 10 classes (cnn.h): 288618 parameters, under 1M
	run train-cnn --classes 10 -e 1 -j 1 -o "$T/d.model" "$D/x.npy" "$D/y.npy"
	assert_success
	run py 'hdr, p, s = read_model(sys.argv[1]); print(hdr["nparams"], hdr["filters"], hdr["depth"], hdr["convs"], hdr["classes"])' "$T/d.model"
	assert_output "288618 32 3 2 10"
}

@test "train-cnn: the same seed gives the same bytes; labels as IDX, uint8, int32 or float32 alike" {
	train-cnn $NET -e 2 -o "$T/1.model" "$D/x.npy" "$D/y.idx.gz" 2> /dev/null
	for y in y y32 yf; do
		train-cnn $NET -e 2 -o "$T/$y.model" "$D/x.npy" "$D/$y.npy" 2> /dev/null
		cmp "$T/1.model" "$T/$y.model"
	done
	train-cnn $NET -e 2 --dropout 0.3 -o "$T/d1.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	train-cnn $NET -e 2 --dropout 0.3 -o "$T/d2.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	cmp "$T/d1.model" "$T/d2.model"
	train-cnn $NET -e 2 -s 2 -o "$T/2.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	! cmp -s "$T/1.model" "$T/2.model"
	! cmp -s "$T/1.model" "$T/d1.model"
}

@test "train-cnn: --resume after 2 of 4 epochs gives the bytes of 4 straight (with dropout and validation)" {
	opts="$NET --dropout 0.2 --val-fraction 0.2 --patience 5"
	train-cnn $opts -e 4 -o "$T/full.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	train-cnn $opts -e 2 -o "$T/half.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	# the validation split is the command line's, as train-unet's
	run --separate-stderr train-cnn -e 4 -j 1 --val-fraction 0.2 --patience 5 --resume "$T/half.model" \
		-o "$T/rest.model" "$D/x.npy" "$D/y.npy"
	assert_success
	[ "$(printf '%s\n' "$stderr" | grep -c '^train-cnn: epoch [34]/4 ')" = 2 ]
	cmp "$T/full.model" "$T/rest.model"
}

@test "train-cnn: --until: one epoch a run, resumed, gives the bytes and cosine rates of one run" {
	train-cnn $NET --cosine -e 3 --history "$T/full.tsv" -o "$T/full.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	run --separate-stderr train-cnn $NET --cosine -e 3 --until 1 --history "$T/step.tsv" \
		-o "$T/step.model" "$D/x.npy" "$D/y.npy"
	assert_success
	[ "$(printf '%s\n' "$stderr" | grep -c '^train-cnn: epoch 1/3 ')" = 1 ]
	[ "$(printf '%s\n' "$stderr" | grep -c '^train-cnn: epoch [23]/3 ')" = 0 ]
	for e in 2 3; do
		train-cnn -j 1 --until "$e" --resume "$T/step.model" --history "$T/step.tsv" \
			-o "$T/step.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	done
	cmp "$T/full.model" "$T/step.model"
	# the rates of the schedule over 3 epochs: 0.003 x (1 + cos(pi e / 3)) / 2, e from 0
	cut -f 1,4 "$T/full.tsv" | cmp - <(cut -f 1,4 "$T/step.tsv")
	# a run already at its --until trains nothing
	run --separate-stderr train-cnn -j 1 --until 2 --resume "$T/step.model" -o "$T/again.model" "$D/x.npy" "$D/y.npy"
	assert_success
	[ -z "$(printf '%s\n' "$stderr" | grep '^train-cnn: epoch')" ]
	cmp "$T/full.model" "$T/again.model"
	run -2 train-cnn $NET --until 0 -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	[[ "${lines[0]}" == "train-cnn: --until"* ]]
}

@test "train-cnn: --init --freeze keeps every feature layer's bytes; the head trains" {
	# the same classes: the head starts from a.model's and moves
	run --separate-stderr train-cnn $NET -e 2 --init "$D/a.model" --freeze -o "$T/f.model" "$D/x.npy" "$D/y.npy"
	assert_success
	refute_output --partial "note"
	# other classes (7 or not): a new head, with a note
	run --separate-stderr train-cnn $NET -e 10 --lr 0.03 --init "$D/a.model" --freeze -o "$T/g.model" "$D/x.npy" "$D/y2.npy"
	assert_success
	[[ "$stderr" == *"train-cnn: note: $D/a.model has 3 classes, these labels 2: the head starts afresh"* ]]
	# the same in fixed chunks (the mpirun step: gradient, sum, Adam over the head)
	train-cnn $NET -e 2 --chunks 2 --init "$D/a.model" --freeze -o "$T/c.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	# without --freeze every layer moves
	train-cnn $NET -e 1 --init "$D/a.model" -o "$T/u.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	run py '
ha, pa, sa = read_model(sys.argv[1])
for path in sys.argv[2:]:
    h, p, s = read_model(path)
    parts = cnn_parts(h)
    same = [name for name, a, b in parts[:-1] if np.array_equal(p[a:b], pa[a:b])]
    a, b = parts[-1][1], parts[-1][2]
    head_moved = p[a:b].shape != pa[a:b].shape or not np.array_equal(p[a:b], pa[a:b])
    print(h["freeze"], h["classes"], len(same), len(parts) - 1, np.array_equal(s, sa), head_moved)' \
		"$D/a.model" "$T/f.model" "$T/g.model" "$T/c.model" "$T/u.model"
	assert_success
	assert_output "1 3 6 6 True True
1 2 6 6 True True
1 3 6 6 True True
0 3 0 6 False True"
	# the probe learns 7 against 0 and 1 on the frozen features: test accuracy >= 0.85
	predict --argmax "$T/g.model" "$D/xt.npy" > "$T/p.npy"
	run py 'p, y = load(sys.argv[1]), load(sys.argv[2]); print(p.max() <= 1, (p == (y == 2)).mean() >= 0.85)' "$T/p.npy" "$D/yt.npy"
	assert_output "True True"
	# a frozen run resumed stays frozen
	train-cnn $NET -e 1 --init "$D/a.model" --freeze -o "$T/h.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	train-cnn -e 2 -j 1 --resume "$T/h.model" -o "$T/h2.model" "$D/x.npy" "$D/y.npy" 2> /dev/null
	cmp "$T/f.model" "$T/h2.model"
}

@test "train-cnn: --init errors: another shape names the layer; another kind; --freeze alone" {
	run -1 train-cnn $NET --filters 4 -e 1 --init "$D/a.model" -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	assert_output "train-cnn: $D/a.model: layer stage 1 conv 1 is 8x1x3x3 there, 4x1x3x3 here"
	run -1 train-cnn $NET --stages 2 -e 1 --init "$D/a.model" -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	assert_output "train-cnn: $D/a.model: 3 stages of 2 convolutions there, 2 of 2 here"
	train-mlp --layers 784,784 --activations sigmoid -e 1 -o "$T/mlp.model" "$D/x.npy" "$D/x.npy" 2> /dev/null
	run -1 train-cnn $NET -e 1 --init "$T/mlp.model" -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	assert_output "train-cnn: $T/mlp.model: the model is an mlp, not a cnn"
	run -2 train-cnn $NET --freeze -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	assert_line --index 0 "train-cnn: --freeze needs --init MODEL (the features to keep)"
	run -2 train-cnn $NET --init "$D/a.model" --resume "$D/a.model" -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	assert_line --index 0 "train-cnn: --init and --resume exclude each other"
	[ ! -e "$T/m.model" ]
}

@test "train-cnn: bad labels are one line naming the sample; nothing written" {
	py '
y = load(sys.argv[1]).astype(np.float32)
y[7] = 1.5; np.save(sys.argv[2] + "/half.npy", y)
y[7] = -1; np.save(sys.argv[2] + "/neg.npy", y)
y[7] = 300; np.save(sys.argv[2] + "/big.npy", y)
np.save(sys.argv[2] + "/vec.npy", np.zeros((100, 2), np.uint8))
np.save(sys.argv[2] + "/short.npy", np.zeros(99, np.uint8))' "$D/y.npy" "$T"
	run -1 train-cnn $NET -e 1 -o "$T/m.model" "$D/x.npy" "$T/half.npy"
	assert_output "train-cnn: label value 1.5 at element 0 is not an integer in 0..255 ($T/half.npy, sample 7)"
	run -1 train-cnn $NET -e 1 -o "$T/m.model" "$D/x.npy" "$T/neg.npy"
	assert_output "train-cnn: label value -1 at element 0 is not an integer in 0..255 ($T/neg.npy, sample 7)"
	run -1 train-cnn $NET -e 1 -o "$T/m.model" "$D/x.npy" "$T/big.npy"
	assert_output "train-cnn: label value 300 at element 0 is not an integer in 0..255 ($T/big.npy, sample 7)"
	# --classes 2: the label 2 of sample 2 is out of range
	run -1 train-cnn $NET -e 1 --classes 2 -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	assert_output --regexp "^train-cnn: label value 2 at element 0 is not an integer in 0..1 \($D/y.npy, sample [0-9]+\)$"
	run -1 train-cnn $NET -e 1 -o "$T/m.model" "$D/x.npy" "$T/vec.npy"
	assert_output "train-cnn: labels are one value per image, not 2 ($T/vec.npy)"
	run -1 train-cnn $NET -e 1 -o "$T/m.model" "$D/x.npy" "$T/short.npy"
	assert_output "train-cnn: 100 inputs but 99 targets ($D/x.npy, $T/short.npy)"
	run -1 train-cnn $NET -e 1 -o "$T/m.model" "$D/y.npy" "$D/y.npy"
	assert_output "train-cnn: samples of shape scalar are not images, (H,W) or (C,H,W) ($D/y.npy)"
	# a resumed run checks the labels against the model's 3 classes
	run -1 train-cnn -e 9 -j 1 --resume "$D/a.model" -o "$T/m.model" "$D/x.npy" "$T/big.npy"
	assert_output "train-cnn: label value 300 at element 0 is not an integer in 0..2 ($T/big.npy, sample 7)"
	run -2 train-cnn $NET --classes 1 -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	run -2 train-cnn $NET --dropout 1 -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	run -2 train-cnn $NET --stages 9 -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	run -2 train-cnn $NET -o "$T/m.model" "$D/x.npy"
	[ ! -e "$T/m.model" ]
}

@test "train-cnn: images too small for the stages are an error" {
	run -1 train-cnn $NET --stages 6 -e 1 -o "$T/m.model" "$D/x.npy" "$D/y.npy"
	assert_output "train-cnn: images of 28 x 28 are too small for 6 stages (at least 32 x 32)"
	[ ! -e "$T/m.model" ]
}

@test "predict on a classifier: probabilities (N,K) sum to 1 (1e-5); --argmax is their argmax" {
	predict "$D/a.model" "$D/xt.npy" > "$T/q.npy"
	predict --argmax "$D/a.model" "$D/xt.npy" > "$T/p.npy"
	run py '
q, p = load(sys.argv[1]), load(sys.argv[2])
print(q.dtype, q.shape, p.dtype, p.shape)
print(np.abs(q.sum(1) - 1).max() <= 1e-5, q.min() >= 0, np.array_equal(q.argmax(1), p))' "$T/q.npy" "$T/p.npy"
	assert_success
	assert_output "float32 (58, 3) uint8 (58,)
True True True"
	# --threshold is per class probability, uint8 (N,K)
	predict --threshold 0.5 "$D/a.model" "$D/xt.npy" > "$T/t.npy"
	run py 'q, t = load(sys.argv[1]), load(sys.argv[2]); print(t.dtype, t.shape, np.array_equal(t, (q > 0.5).astype(np.uint8)))' "$T/q.npy" "$T/t.npy"
	assert_output "uint8 (58, 3) True"
	# global average pooling: any image size from 4x4 (two poolings) up
	py 'np.save(sys.argv[1], np.zeros((2, 20, 24), np.float32)); np.save(sys.argv[2], np.zeros((2, 3, 3), np.float32))' \
		"$T/other.npy" "$T/small.npy"
	run predict "$D/a.model" "$T/other.npy"
	assert_success
	run -1 predict "$D/a.model" "$T/small.npy"
	assert_output "predict: $D/a.model: images of 3 x 3 are too small for its 3 stages (at least 4 x 4)"
}

@test "encode on a classifier: the pooled features (N,F) before the head; the head of them is predict's" {
	# fp32: bf16 would round the head's inputs, which numpy does not
	encode --precision fp32 "$D/a.model" "$D/xt.npy" > "$T/e.npy"
	predict --precision fp32 "$D/a.model" "$D/xt.npy" > "$T/q.npy"
	run py '
e, q = load(sys.argv[1]), load(sys.argv[2])
hdr, p, s = read_model(sys.argv[3])
K, F = 3, 32
W, b = p[-K * F - K:-K].reshape(K, F), p[-K:]
z = e @ W.T + b
z = np.exp(z - z.max(1, keepdims=True)); z /= z.sum(1, keepdims=True)
print(e.dtype, e.shape, e.min() >= 0, np.abs(z - q).max() <= 1e-5)' "$T/e.npy" "$T/q.npy" "$D/a.model"
	assert_success
	assert_output "float32 (58, 32) True True"
	encode --precision fp32 --layer 2 "$D/a.model" "$D/xt.npy" > "$T/l2.npy"
	run py 'print(np.abs(load(sys.argv[1]) - load(sys.argv[2])).max() <= 1e-6)' "$T/l2.npy" "$T/q.npy"
	assert_output "True"
	run -1 encode --layer 3 "$D/a.model" "$D/xt.npy"
	assert_output "encode: --layer 3: $D/a.model has layers 0..2"
}
