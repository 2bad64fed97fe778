#!/usr/bin/env bats
# The one trainer (lib/nn/trainer.c) as a user meets it: a bad output path,
# Ctrl-C and SIGTERM, the epoch line, the progress bar.
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	local images="$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz"
	pick --first 64 "$images" > i64.npy
	otsu i64.npy > m64.npy
	pick --range 64:128 "$images" > v64.npy
	otsu v64.npy > vm64.npy
	# class maps of 3 classes: 0 background, 1 dim, 2 bright
	py 'a = load(sys.argv[1]); c = (a > 0).astype(np.uint8) + (a > 128)
np.save(open(sys.argv[2], "wb"), c)' i64.npy c64.npy
}

header() {
	sed -n "/^\$/q; s/^$2 //p" "$1"
}

T="--filters 4 -j 1 -b 16"

# train_until_line LOG PATTERN: wait (up to 20 s) for PATTERN in LOG
wait_for_line() {
	local i
	for i in $(seq 400); do
		grep -q "$2" "$1" 2> /dev/null && return 0
		sleep 0.05
	done
	return 1
}

# wait_cpu PID TICKS: wait (up to 30 s) until PID has used TICKS clock
# ticks of CPU time in user mode (/proc/PID/stat's 14th field): past loading
# its data, into its training, whatever else the machine runs
wait_cpu() {
	local i
	for i in $(seq 600); do
		[ "$(awk '{ print $14 }' "/proc/$1/stat" 2> /dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

@test "trainer: a model path that cannot be written fails before any training" {
	cd "$BATS_FILE_TMPDIR"
	run train-unet $T -e 2 -o /nonexistent/dir/m.model i64.npy m64.npy
	assert_failure 1
	assert_output "train-unet: cannot write /nonexistent/dir/m.model: /nonexistent/dir: No such file or directory"
	run train-mlp --layers 784,8,784 --activations relu,sigmoid -e 2 -o /nonexistent/m.model i64.npy i64.npy
	assert_failure 1
	assert_output --partial "train-mlp: cannot write /nonexistent/m.model"
	refute_output --partial epoch
	# a directory, a file as directory, an unwritable history
	run train-unet $T -e 2 -o "$BATS_TEST_TMPDIR" i64.npy m64.npy
	assert_failure 1
	assert_output --partial "it is a directory"
	run train-unet $T -e 2 -o i64.npy/m.model i64.npy m64.npy
	assert_failure 1
	assert_output --partial "i64.npy is not a directory"
	run train-unet $T -e 2 -o "$BATS_TEST_TMPDIR/m.model" --history /nonexistent/h.tsv i64.npy m64.npy
	assert_failure 1
	assert_output "train-unet: cannot write /nonexistent/h.tsv: /nonexistent: No such file or directory"
	[ ! -e "$BATS_TEST_TMPDIR/m.model" ]
	# the probe leaves nothing behind
	run ls -A "$BATS_TEST_TMPDIR"
	assert_output ""
}

@test "trainer: -o - refuses a terminal before training; --force writes it" {
	cd "$BATS_FILE_TMPDIR"
	run script -qec "train-unet $T -e 1 -o - i64.npy m64.npy" /dev/null
	assert_output --partial "train-unet: refusing to write a model to a terminal"
	refute_output --partial "epoch 1/1"
	# through a pipe it is written as before
	train-unet $T -e 1 -o - i64.npy m64.npy 2> /dev/null | head -c 15 > "$BATS_TEST_TMPDIR/h"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/h")" "segpipe-model 1"
	run script -qec "train-unet $T -e 1 --force -o - i64.npy m64.npy 2>/dev/null | head -c 15" /dev/null
	assert_output --partial "segpipe-model 1"
}

@test "trainer: --until past the run's epochs and --force with a model file do nothing: usage errors" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	run train-unet $T -e 2 --until 3 -o "$d/m.model" i64.npy m64.npy
	assert_failure 2
	assert_line -n 0 "train-unet: --until 3 does nothing past the run's 2 epochs (--epochs)"
	refute_output --partial "epoch 1/"
	run train-mlp --layers 784,8,784 --activations relu,sigmoid -e 1 --force -o "$d/m.model" i64.npy i64.npy
	assert_failure 2
	assert_line -n 0 "train-mlp: --force does nothing without -o - (a model file is not a terminal)"
	[ ! -e "$d/m.model" ]
	# --until N of the --epochs N is the run's end, as a resumed run in steps uses it
	train-unet $T -e 2 --until 1 -o "$d/m.model" i64.npy m64.npy 2> /dev/null
	run train-unet -j 1 --resume "$d/m.model" --until 3 -o "$d/m.model" i64.npy m64.npy
	assert_failure 2
	assert_line -n 0 "train-unet: --until 3 does nothing past the run's 2 epochs (--epochs)"
	run train-unet -j 1 --resume "$d/m.model" --until 2 -o "$d/m.model" i64.npy m64.npy
	assert_success
	assert_line --partial "epoch 2/2"
}

@test "trainer: --resume of a run with validation needs it again; --val-fraction on a run without it is refused" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 3 --until 2 --val-fraction 0.25 -o "$d/v.model" i64.npy m64.npy 2> /dev/null
	cp "$d/v.model" "$d/v0.model"
	# as the interrupt line says it: the held-out samples would train and
	# the best epoch's weights and val_loss would go stale, without a word
	run train-unet -j 1 --resume "$d/v.model" -o "$d/v.model" i64.npy m64.npy
	assert_failure 1
	assert_output "train-unet: $d/v.model was trained with validation data (best val_loss at epoch 2): give its --val-fraction or --val again"
	cmp "$d/v.model" "$d/v0.model"
	run train-unet -j 1 --resume "$d/v.model" --val-fraction 0.25 -o "$d/v.model" i64.npy m64.npy
	assert_success
	assert_line --regexp "epoch 3/3 .* val_loss "
	# a run on all the samples validated on some of them would be no validation
	train-unet $T -e 3 --until 1 -o "$d/n.model" i64.npy m64.npy 2> /dev/null
	run train-unet -j 1 --resume "$d/n.model" --val-fraction 0.25 -o "$d/n.model" i64.npy m64.npy
	assert_failure 1
	assert_output "train-unet: $d/n.model was trained without validation data, on every sample: --val-fraction would validate on samples it trained on (--val takes other data)"
	run train-unet -j 1 --resume "$d/n.model" --val v64.npy vm64.npy -o "$d/n.model" i64.npy m64.npy
	assert_success
	assert_line --regexp "epoch 2/3 .* val_loss "
}

# interrupt SIG TOOL ARGS...: train in the background until its first epoch
# line, send SIG, wait; sets status and the log in $BATS_TEST_TMPDIR/log
interrupt() {
	local sig=$1 pid
	shift
	"$@" 2> "$BATS_TEST_TMPDIR/log" &
	pid=$!
	wait_for_line "$BATS_TEST_TMPDIR/log" "epoch 1/"
	kill -"$sig" "$pid"
	status=0
	wait "$pid" || status=$?
}

@test "trainer: Ctrl-C finishes the batch, writes a checkpoint, says so, exits 130; --resume goes on exactly" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	local a="--layers 784,16,784 --activations relu,sigmoid --loss mse -j 1 -b 4 --lr 0.01"
	interrupt INT train-mlp $a -e 100000 -o "$d/m.model" --history "$d/h.tsv" i64.npy i64.npy
	assert_equal "$status" 130
	run tail -n 1 "$d/log"
	assert_output --regexp "^train-mlp: interrupted: stopped (in epoch [0-9]+ after [0-9]+ of 64 samples|after epoch [0-9]+); $d/m.model is a checkpoint, go on with --resume $d/m.model\$"
	local e p
	e=$(header "$d/m.model" epoch)
	p=$(header "$d/m.model" partial)
	[ "$e" -ge 1 ]
	# a partial epoch is a multiple of the batch, short of the epoch
	[ -z "$p" ] || [ $((p % 4)) -eq 0 -a "$p" -lt 64 ]
	# resumed to the end of the epoch it stopped in: the bytes of the run in one go
	train-mlp --resume "$d/m.model" -e $((e + 1)) -o "$d/m.model" --history "$d/h.tsv" \
		i64.npy i64.npy 2> /dev/null
	train-mlp $a -e $((e + 1)) -o "$d/ref.model" i64.npy i64.npy 2> /dev/null
	cmp "$d/ref.model" "$d/m.model"
	assert_equal "$(header "$d/m.model" partial)" ""
	# the history has each epoch once
	run awk -F '\t' 'NR > 1 && $1 != NR - 1 { bad = 1 } END { print NR - 1, bad + 0 }' "$d/h.tsv"
	assert_output "$((e + 1)) 0"
}

@test "trainer: SIGTERM in a U-Net's first epoch leaves a checkpoint and exits 143" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	# 64 copies of 64 images: the first epoch is long enough to be hit
	for i in $(seq 64); do cat i64.npy; done > "$d/big.npy"
	for i in $(seq 64); do cat m64.npy; done > "$d/bigm.npy"
	train-unet $T -e 3 -o "$d/m.model" "$d/big.npy" "$d/bigm.npy" 2> "$d/log" &
	local pid=$!
	# 0.3 s of CPU: loading took a few ms, the epoch takes seconds
	wait_cpu "$pid" 30
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 143
	run tail -n 1 "$d/log"
	assert_output --regexp "^train-unet: terminated: stopped in epoch 1 after [0-9]+ of 4096 samples; .*m.model is a checkpoint"
	assert_equal "$(header "$d/m.model" epoch)" 0
	[ "$(header "$d/m.model" partial)" -gt 0 ]
	train-unet --resume "$d/m.model" -e 1 -o "$d/m.model" "$d/big.npy" "$d/bigm.npy" 2> "$d/log2"
	assert_equal "$(header "$d/m.model" epoch)" 1
	run grep -c "epoch 1/1" "$d/log2"
	assert_output 1
}

@test "trainer: a damaged partial count in a checkpoint is an error" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 1 -o "$d/m.model" i64.npy m64.npy 2> /dev/null
	model_edit "$d/m.model" "$d/p.model" "" "partial 64"
	run train-unet --resume "$d/p.model" -e 2 -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	assert_output --partial "the checkpoint has 64 samples of epoch 2 done, but there are 64 training samples"
	model_edit "$d/m.model" "$d/q.model" "" "partial_loss -1"
	run train-unet --resume "$d/q.model" -e 2 -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	assert_output --partial "bad value '-1' for partial_loss"
}

@test "trainer: the epoch line marks the best epoch and gives the validation IoU (bce) beside the loss" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T --precision fp32 --lr 0.02 -e 6 --val v64.npy vm64.npy -o "$d/m.model" \
		i64.npy m64.npy 2> "$d/log"
	# "best" exactly on the epochs whose validation loss is a new minimum
	run awk '/ epoch / { for (i = 1; i <= NF; i++) if ($i == "val_loss") v = $(i + 1)
		want = (n++ == 0 || v < min); if (want) min = v
		if (want != ($NF == "best")) bad = bad " " $3 } END { print n, bad ? bad : "ok" }' "$d/log"
	assert_output "6 ok"
	grep -q ' val_iou 0\.[0-9]\{4\} lr ' "$d/log"
	# the last best epoch's val_iou is predict | iou on the --val data (the
	# model keeps that epoch's weights); 5e-4: the line rounds to 4 digits
	local want got
	want=$(awk '$NF == "best" { for (i = 1; i <= NF; i++) if ($i == "val_iou") v = $(i + 1) } END { print v }' "$d/log")
	got=$(predict -j 1 --threshold 0.5 "$d/m.model" v64.npy | iou - vm64.npy | awk '$1 == "iou" { print $2 }')
	run awk -v a="$want" -v b="$got" 'BEGIN { d = a - b; print (d < 5e-4 && d > -5e-4) ? "ok" : a " vs " b }'
	assert_output ok
}

@test "trainer: ce gives the mean IoU over classes, mse no IoU, no validation no val_ columns" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T --loss ce --classes 3 -e 2 --val-fraction 0.25 -o "$d/c.model" i64.npy c64.npy 2> "$d/log"
	run grep -c ' val_loss [0-9.]* val_miou [01]\.[0-9]\{4\} lr ' "$d/log"
	assert_output 2
	train-unet $T --loss mse -e 1 --val-fraction 0.25 -o "$d/s.model" i64.npy m64.npy 2> "$d/log"
	grep -q ' val_loss [0-9.]* lr ' "$d/log"
	run grep -c 'iou' "$d/log"
	assert_output 0
	train-unet $T -e 1 -o "$d/n.model" i64.npy m64.npy 2> "$d/log"
	run grep -c 'val_\|nan' "$d/log"
	assert_output 0
}

@test "trainer: the progress bar's time left is the whole run's" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	# a terminal for stderr, where the bar is drawn
	script -qec "train-unet $T -b 4 -e 4 -o $d/m.model i64.npy m64.npy" /dev/null |
		tr '\r' '\n' > "$d/bar"
	# epoch 1 of 4 is the first quarter of the bar, epoch 4 ends it
	run awk '/^epoch [1-4]\/4 \[/ { e = substr($2, 1, 1); p = $4 + 0
		if (p > 25 * e + 1 || p < 25 * (e - 1) - 1) bad = bad " " e ":" p; if (p > max) max = p }
		END { print max, bad ? bad : "ok" }' "$d/bar"
	assert_output "100 ok"
}
