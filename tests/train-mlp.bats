#!/usr/bin/env bats
load helper
bats_require_minimum_version 1.5.0

setup_file() {
	"$PY" -c '
import gzip, sys, numpy as np
raw = gzip.decompress(open(sys.argv[1], "rb").read())
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
np.save(sys.argv[2], x[:100])
np.save(sys.argv[3], x[100:150])' "$IMAGES" "$BATS_FILE_TMPDIR/img100.npy" "$BATS_FILE_TMPDIR/img50.npy"
}

setup() {
	T="$BATS_TEST_TMPDIR"
	X="$BATS_FILE_TMPDIR/img100.npy"
}

@test "train-mlp: --help and --version" {
	run train-mlp --help
	assert_success
	assert_output --partial "Usage: train-mlp"
	run train-mlp --version
	assert_success
	assert_line --index 0 --regexp "^train-mlp \(segpipe\) [0-9.]+$"
	assert_line --index 1 --regexp '^kernel [a-z0-9-]+, precision (fp32|bf16)$'
}

@test "train-mlp: a 784-2-784 autoencoder on 100 images lowers its loss; history, stderr and header agree" {
	run --separate-stderr train-mlp --layers 784,2,784 --activations sigmoid,linear \
		--epochs 6 --batch 20 --lr 0.01 -j 1 --history "$T/h.tsv" -o "$T/ae.model" "$X" "$X"
	assert_success
	assert_output ""
	assert_equal "$(printf '%s\n' "$stderr" | grep -c '^train-mlp: epoch [1-6]/6 train_loss ')" 6
	run py '
hdr, p = read_mlp(sys.argv[1])
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
loss = [float(r[1]) for r in rows[1:]]
print(rows[0][:3], len(loss), loss[-1] < loss[0])
print(hdr["kind"], hdr["layers"], hdr["activations"], hdr["loss"], hdr["nparams"],
      hdr["in_channels"], hdr["out_channels"], hdr["height"], hdr["width"],
      hdr["epochs"], hdr["epoch"], hdr["batch"], hdr["seed"])
print(abs(float(hdr["train_loss"]) - loss[-1]) <= 1e-6 * loss[-1])' "$T/ae.model" "$T/h.tsv"
	assert_success
	assert_line --index 0 "['epoch', 'train_loss', 'val_loss'] 6 True"
	# 784*2 + 2 + 2*784 + 784 parameters
	assert_line --index 1 "mlp 784,2,784 sigmoid,none mse 3922 784 784 28 28 6 6 20 1"
	assert_line --index 2 "True"
	# written atomically: no temporary file left beside the model
	run ls -a "$T"
	refute_output --partial "ae.model."
}

@test "train-mlp: the first epoch's loss is the MSE (of intensities /255) of the initial network" {
	# With a negligible learning rate the saved weights are the initial ones
	# (Adam moves each by at most about 1e-12 per step), so the reported
	# mean loss equals numpy's loss of the saved network, to 1e-5 relative.
	train-mlp --layers 784,16,784 --activations relu,sigmoid --lr 1e-12 --epochs 1 \
		--batch 32 -o "$T/m.model" "$X" "$X" 2> /dev/null
	train-mlp --layers 784,16,784 --activations relu,sigmoid --loss bce --lr 1e-12 \
		--epochs 1 --batch 32 -o "$T/b.model" "$X" "$X" 2> /dev/null
	run py '
x = load(sys.argv[1]).reshape(100, -1) / 255.0
for path, kind in ((sys.argv[2], "mse"), (sys.argv[3], "bce")):
    hdr, p = read_mlp(path)
    a = x
    for W, b, f in layers(hdr, p):
        z = a @ W.T + b; a = act(z, f)
    if kind == "mse":
        want = np.mean((a - x) ** 2)
    else:
        want = np.mean(np.maximum(z, 0) - z * x + np.log1p(np.exp(-np.abs(z))))
    got = float(hdr["train_loss"])
    print(hdr["loss"], abs(got - want) <= 1e-5 * want)' "$X" "$T/m.model" "$T/b.model"
	assert_success
	assert_output "mse True
bce True"
}

@test "train-mlp: He normal for relu layers, Glorot uniform for sigmoid and linear, biases 0" {
	# 784x256 relu weights: std sqrt(2/784) = 0.0505 (within 3%); 256x2
	# sigmoid and 2x784 linear: uniform within +-sqrt(6/(in+out)), std
	# limit/sqrt(3) (within 5%)
	train-mlp --layers 784,256,2,784 --activations relu,sigmoid,linear --lr 1e-12 \
		--epochs 1 --batch 100 -o "$T/m.model" "$X" "$X" 2> /dev/null
	run py '
hdr, p = read_mlp(sys.argv[1])
(W0, b0, _), (W1, b1, _), (W2, b2, _) = layers(hdr, p)
ok = [abs(W0.std() / np.sqrt(2 / 784) - 1) < 0.03]
for W in (W1, W2):
    lim = np.sqrt(6 / sum(W.shape))
    ok.append(np.abs(W).max() <= lim and abs(W.std() / (lim / np.sqrt(3)) - 1) < 0.05)
ok.append(max(np.abs(b).max() for b in (b0, b1, b2)) < 1e-9)
print(ok)' "$T/m.model"
	assert_success
	assert_output "[True, True, True, True]"
}

@test "train-mlp: same seed, same model bytes; another seed, another model" {
	for s in 1 1 2; do
		train-mlp --layers 784,8,2,8,784 --activations relu,sigmoid,relu,sigmoid \
			--epochs 2 --batch 16 -s $s -j 2 -o "$T/m$s-$RANDOM.model" "$X" "$X" 2> /dev/null
	done
	set -- "$T"/m1-*.model
	cmp "$1" "$2"
	run cmp -s "$1" "$T"/m2-*.model
	assert_failure
}

@test "train-mlp --val-fraction: a validation loss per epoch, in the history and the model" {
	train-mlp --layers 784,4,784 --activations tanh,sigmoid --epochs 3 --batch 20 \
		--val-fraction 0.2 --history "$T/h.tsv" -o "$T/m.model" "$X" "$X" 2> /dev/null
	run py '
hdr, p = read_mlp(sys.argv[1])
rows = [l.split("\t") for l in open(sys.argv[2])][1:]
val = [float(r[2]) for r in rows]
print(len(val), all(np.isfinite(val)), abs(float(hdr["val_loss"]) - val[-1]) <= 1e-6 * val[-1])' \
		"$T/m.model" "$T/h.tsv"
	assert_success
	assert_output "3 True True"
}

@test "train-mlp: inputs and targets may differ (a restorer: 100 inputs -> other 100 targets)" {
	"$PY" -c '
import numpy as np, sys
x = np.load(sys.argv[1]).astype(np.float32) / 255
x[:, :, 10:14] = 0
np.save(sys.argv[2], x)' "$X" "$T/occluded.npy"
	run train-mlp --layers 784,32,784 --activations relu,sigmoid --epochs 2 \
		-o "$T/r.model" "$T/occluded.npy" "$X"
	assert_success
	[ -s "$T/r.model" ]
}

@test "train-mlp: layer sizes that do not match the data" {
	run train-mlp --layers 100,2,784 --activations sigmoid,linear --epochs 1 -o "$T/m.model" "$X" "$X"
	assert_failure 1
	assert_output --regexp '^train-mlp: the first layer has 100 units, .* 784 values \(28x28\)$'
	assert_equal "${#lines[@]}" 1
	run train-mlp --layers 784,2,10 --activations sigmoid,linear --epochs 1 -o "$T/m.model" "$X" "$X"
	assert_failure 1
	assert_output --regexp '^train-mlp: the last layer has 10 units'
	assert_equal "${#lines[@]}" 1
	run train-mlp --layers 784,2,784 --activations sigmoid,linear --epochs 1 -o "$T/m.model" \
		"$X" "$BATS_FILE_TMPDIR/img50.npy"
	assert_failure 1
	assert_output --regexp '^train-mlp: 100 inputs but 50 targets'
	assert_equal "${#lines[@]}" 1
	[ ! -e "$T/m.model" ]
}

@test "train-mlp: usage errors" {
	local bad=(
		"--activations sigmoid,linear -o $T/m $X $X"
		"--layers 784,2,784 -o $T/m $X $X"
		"--layers 784,2,784 --activations sigmoid,linear $X $X"
		"--layers 784,2,784 --activations sigmoid -o $T/m $X $X"
		"--layers 784,,784 --activations sigmoid,linear -o $T/m $X $X"
		"--layers 784,2,784 --activations sigmoid,softmax -o $T/m $X $X"
		"--layers 784,2,784 --activations sigmoid,linear --loss bce -o $T/m $X $X"
		"--layers 784,2,784 --activations sigmoid,linear --loss ce -o $T/m $X $X"
		"--layers 784,2,784 --activations sigmoid,linear --batch 0 -o $T/m $X $X"
		"--layers 784,2,784 --activations sigmoid,linear -o $T/m $X"
		"--layers 784,2,784 --activations sigmoid,linear --bogus -o $T/m $X $X"
	)
	for args in "${bad[@]}"; do
		run train-mlp $args
		assert_failure 2
		assert_line --index 0 --regexp '^train-mlp: '
		assert_equal "${#lines[@]}" 2
	done
	[ ! -e "$T/m" ]
}

# header MODEL KEY: the value of KEY in MODEL's text header
header() {
	sed -n "/^\$/q; s/^$2 //p" "$1"
}

# the small, fast network of the trainer tests
NET="--layers 784,8,784 --activations relu,sigmoid -j 1 -b 20"

@test "train-mlp --resume: 2 epochs then resumed to 4 equals 4 in one go; the settings come from the model" {
	train-mlp $NET --lr 0.01 -e 4 -o "$T/full.model" "$X" "$X" 2> /dev/null
	train-mlp $NET --lr 0.01 -e 2 -o "$T/run.model" "$X" "$X" 2> /dev/null
	assert_equal "$(header "$T/run.model" epoch)" 2
	assert_equal "$(header "$T/run.model" adam)" 1
	# layers, batch, seed, rate from the model: one given too is a usage
	# error, not ignored
	for opt in "--layers 784,3,784" "--activations tanh,linear" "--loss bce" "--lr 0.5" \
	           "--batch 3" "--seed 9" "--weight-decay 0.1" "--cosine" "--precision fp32"; do
		run train-mlp -j 1 $opt --resume "$T/run.model" -e 4 -o "$T/run.model" "$X" "$X"
		assert_failure 2
		assert_line -n 0 "train-mlp: ${opt%% *} does nothing with --resume (the run keeps its model's settings)"
	done
	assert_equal "$(header "$T/run.model" epoch)" 2
	train-mlp -j 1 --resume "$T/run.model" -e 4 -o "$T/run.model" "$X" "$X" 2> /dev/null
	cmp "$T/full.model" "$T/run.model"
	# a finished run resumed has nothing to do: the same bytes
	train-mlp -j 1 --resume "$T/full.model" -o "$T/again.model" "$X" "$X" 2> /dev/null
	cmp "$T/full.model" "$T/again.model"
	# a U-Net is not an MLP to resume
	pick --first 16 "$X" > "$T/i16.npy"
	otsu "$T/i16.npy" > "$T/m16.npy"
	train-unet --filters 2 -j 1 -e 1 -o "$T/u.model" "$T/i16.npy" "$T/m16.npy" 2> /dev/null
	run train-mlp -j 1 --resume "$T/u.model" -o "$T/x.model" "$X" "$X"
	assert_failure 1
	assert_output --regexp '^train-mlp: .*u\.model: the model is a unet, not an mlp$'
	[ ! -e "$T/x.model" ]
}

@test "train-mlp --resume with --val-fraction, --patience, --plateau equals the run in one go" {
	# measured on this data: epoch 2's validation loss is worse than epoch
	# 1's, so the resumed run needs the best weights, the last ones and the
	# halved rate from the model
	local v="--val-fraction 0.3 --patience 3 --plateau 1"
	train-mlp $NET --lr 0.05 $v -e 5 --history "$T/f.tsv" -o "$T/full.model" "$X" "$X" 2> /dev/null
	train-mlp $NET --lr 0.05 $v -e 2 --history "$T/r.tsv" -o "$T/run.model" "$X" "$X" 2> /dev/null
	assert_equal "$(header "$T/run.model" best_epoch)" 1
	assert_equal "$(header "$T/run.model" since_best)" 1
	assert_equal "$(header "$T/run.model" resume)" 1
	assert_equal "$(header "$T/run.model" lr)" 0.0250000004
	train-mlp -j 1 $v --resume "$T/run.model" -e 5 --history "$T/r.tsv" -o "$T/run.model" \
		"$X" "$X" 2> /dev/null
	cmp "$T/full.model" "$T/run.model"
	# the history goes on: the same epochs, losses and rates
	cut -f 1-4 "$T/f.tsv" > "$T/f4"
	cut -f 1-4 "$T/r.tsv" > "$T/r4"
	cmp "$T/f4" "$T/r4"
	run awk -F '\t' 'NR > 1 && $3 + 0 > 0 { n++ } END { print n }' "$T/r.tsv"
	assert_output 5
}

@test "train-mlp --patience: stops early and keeps the best epoch's weights" {
	local s="$NET --lr 0.05 --val-fraction 0.3"
	train-mlp $s -e 1 -o "$T/one.model" "$X" "$X" 2> /dev/null
	train-mlp $s --patience 1 -e 6 -o "$T/stop.model" "$X" "$X" 2> "$T/log"
	run tail -n 1 "$T/log"
	assert_output --regexp '^train-mlp: epoch 2/6 .*\(early stop\)$'
	assert_equal "$(header "$T/stop.model" stopped)" 1
	assert_equal "$(header "$T/stop.model" best_epoch)" 1
	run py '
_, a = read_mlp(sys.argv[1]); _, b = read_mlp(sys.argv[2])
print(np.array_equal(a, b))' "$T/one.model" "$T/stop.model"
	assert_output True
	# a stopped run stays stopped
	train-mlp -j 1 --val-fraction 0.3 --resume "$T/stop.model" -o "$T/more.model" \
		"$X" "$X" 2> /dev/null
	cmp "$T/stop.model" "$T/more.model"
}

@test "train-mlp --cosine: epoch e trains at lr (1 + cos(pi e / E)) / 2, kept in the model" {
	train-mlp $NET --lr 0.01 --cosine -e 4 --history "$T/h.tsv" -o "$T/m.model" "$X" "$X" 2> /dev/null
	run awk -F '\t' 'NR > 1 { e = $1 - 1; want = 0.01 * (1 + cos(3.14159265358979 * e / 4)) / 2
		d = ($4 - want) / want; if (d > 1e-5 || d < -1e-5) bad = bad " " $1 ":" $4 "/" want; n++ }
		END { print n, bad ? bad : "ok" }' "$T/h.tsv"
	assert_output "4 ok"
	assert_equal "$(header "$T/m.model" lr_schedule)" cosine
}

@test "train-mlp: killed with SIGKILL, the model is whole and --resume goes on exactly" {
	local d=$T/kill i
	mkdir "$d"
	"$PY" -c '
import numpy as np, sys
x = np.load(sys.argv[1]); np.save(sys.argv[2], np.concatenate([x] * 20))' "$X" "$T/x2000.npy"
	train-mlp $NET --lr 0.01 -e 100000 --history "$d/h.tsv" -o "$d/m.model" \
		"$T/x2000.npy" "$T/x2000.npy" 2> /dev/null &
	local pid=$!
	for i in $(seq 200); do
		[ -e "$d/m.model" ] && break
		sleep 0.05
	done
	sleep 0.2
	kill -9 $pid
	wait $pid || true
	local k
	k=$(header "$d/m.model" epoch)
	[ "$k" -ge 1 ]
	# nothing else but, when the kill came mid-write, a temporary file
	run sh -c "ls -A '$d' | grep -v -x -e 'm\.model' -e 'h\.tsv' -e '.*\.tmp......'"
	assert_output ""
	# resumed to k+1 epochs it equals an uninterrupted run of k+1, and the
	# history lists each epoch once
	train-mlp -j 1 --resume "$d/m.model" -e $((k + 1)) --history "$d/h.tsv" -o "$d/m.model" \
		"$T/x2000.npy" "$T/x2000.npy" 2> /dev/null
	train-mlp $NET --lr 0.01 -e $((k + 1)) --history "$T/ref.tsv" -o "$T/ref.model" \
		"$T/x2000.npy" "$T/x2000.npy" 2> /dev/null
	cmp "$T/ref.model" "$d/m.model"
	cut -f 1-4 "$d/h.tsv" > "$T/h4"
	cut -f 1-4 "$T/ref.tsv" > "$T/ref4"
	cmp "$T/ref4" "$T/h4"
}
