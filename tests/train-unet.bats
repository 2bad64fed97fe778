#!/usr/bin/env bats
load helper

# Small data, made once: the first 200 fixture images, the 300 after them,
# the first 64, and their Otsu masks.
setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	local images="$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz"
	pick --first 200 "$images" > i200.npy
	otsu i200.npy > m200.npy
	pick --range 200:500 "$images" > i300.npy
	otsu i300.npy > m300.npy
	pick --first 64 i200.npy > i64.npy
	otsu i64.npy > m64.npy
}

# header MODEL KEY: the value of KEY in MODEL's text header
header() {
	sed -n "/^\$/q; s/^$2 //p" "$1"
}

# kill_after_first_model PID MODEL: SIGKILL the training PID 0.2 s after
# MODEL first appears (or after 10 s), and reap it
kill_after_first_model() {
	local i
	for i in $(seq 200); do
		[ -e "$2" ] && break
		sleep 0.05
	done
	sleep 0.2
	kill -9 "$1"
	wait "$1" || true
}

# the small, fast network every test trains
T="--filters 4 -j 1 -b 16"

@test "train-unet: --help and --version" {
	run train-unet --help
	assert_success
	assert_output --partial "Usage: train-unet"
	run train-unet --version
	assert_success
	assert_line --index 0 --regexp "^train-unet \(segpipe\) [0-9.]+$"
	assert_line --index 1 --regexp '^kernel [a-z0-9-]+, precision (fp32|bf16)$'
}

@test "train-unet: otsu | train-unet | predict | iou learns foreground (IoU > 0.85, measured 0.94)" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 8 --lr 0.01 -o "$d/fg.model" i200.npy m200.npy 2> "$d/log"
	# one progress line per epoch on stderr
	run grep -c '^train-unet: epoch [1-8]/8 train_loss ' "$d/log"
	assert_output 8
	assert_equal "$(header "$d/fg.model" epoch)" 8
	assert_equal "$(header "$d/fg.model" loss)" bce
	# on the training images and on 300 images it never saw
	predict -j 1 --threshold 0.5 "$d/fg.model" i200.npy | iou - m200.npy > "$d/train.tsv"
	predict -j 1 --threshold 0.5 "$d/fg.model" i300.npy | iou - m300.npy > "$d/test.tsv"
	run awk '$1 == "iou" { print ($2 > 0.85) ? "good" : "bad " $2 }' "$d/train.tsv" "$d/test.tsv"
	assert_output $'good\ngood'
}

@test "train-unet: same seed and threads give the same bytes; another seed other bytes" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 2 -o "$d/a.model" i64.npy m64.npy 2> /dev/null
	train-unet $T -e 2 -o "$d/b.model" i64.npy m64.npy 2> /dev/null
	train-unet $T -e 2 -s 1 -o "$d/c.model" i64.npy m64.npy 2> /dev/null
	train-unet $T -e 2 -s 2 -o "$d/s2.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/a.model" "$d/b.model"
	cmp "$d/a.model" "$d/c.model"
	run cmp -s "$d/a.model" "$d/s2.model"
	assert_failure
	assert_equal "$(header "$d/s2.model" seed)" 2
	train-unet --filters 4 -j 2 -b 16 -e 2 -o "$d/j2a.model" i64.npy m64.npy 2> /dev/null
	train-unet --filters 4 -j 2 -b 16 -e 2 -o "$d/j2b.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/j2a.model" "$d/j2b.model"
}

@test "train-unet --resume: 2 epochs then resumed to 4 equals 4 in one go" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T --lr 0.01 -e 4 -o "$d/full.model" i64.npy m64.npy 2> /dev/null
	train-unet $T --lr 0.01 -e 2 -o "$d/run.model" i64.npy m64.npy 2> /dev/null
	assert_equal "$(header "$d/run.model" epoch)" 2
	# the settings come from the model: one given here too is a usage error
	for opt in "--filters 8" "--depth 1" "--activation tanh" "--loss mse" "--lr 0.5" "--chunks 2" \
	           "--batch 3" "--seed 9" "--cosine"; do
		run train-unet -j 1 $opt --resume "$d/run.model" -e 4 -o "$d/run.model" i64.npy m64.npy
		assert_failure 2
		assert_line -n 0 "train-unet: ${opt%% *} does nothing with --resume (the run keeps its model's settings)"
	done
	train-unet -j 1 --resume "$d/run.model" -e 4 -o "$d/run.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/full.model" "$d/run.model"
	# a finished run resumed has nothing to do: the same bytes
	train-unet -j 1 --resume "$d/full.model" -o "$d/again.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/full.model" "$d/again.model"
}

@test "train-unet --resume with --val-fraction, --patience, --plateau equals the run in one go" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	# measured on this data: epoch 2's validation loss is worse than epoch
	# 1's, so the resumed run needs the best weights, the last weights and
	# the halved learning rate from the model
	local v="--val-fraction 0.5 --patience 3 --plateau 1"
	train-unet --filters 4 -j 1 -b 8 --lr 0.05 $v -e 4 -o "$d/full.model" i64.npy m64.npy 2> /dev/null
	train-unet --filters 4 -j 1 -b 8 --lr 0.05 $v -e 2 -o "$d/run.model" i64.npy m64.npy 2> /dev/null
	assert_equal "$(header "$d/run.model" best_epoch)" 1
	assert_equal "$(header "$d/run.model" since_best)" 1
	assert_equal "$(header "$d/run.model" resume)" 1
	assert_equal "$(header "$d/run.model" lr)" 0.0250000004
	train-unet -j 1 $v --resume "$d/run.model" -e 4 -o "$d/run.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/full.model" "$d/run.model"
}

@test "train-unet --cosine: epoch e trains at lr (1 + cos(pi e / E)) / 2; resume goes on exactly" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T --lr 0.01 --cosine -e 4 --history "$d/h.tsv" -o "$d/full.model" i64.npy m64.npy 2> /dev/null
	# the history's lr column against the formula (relative 1e-5: %g prints 6 digits)
	run awk -F '\t' 'NR > 1 { e = $1 - 1; want = 0.01 * (1 + cos(3.14159265358979 * e / 4)) / 2
		d = ($4 - want) / want; if (d > 1e-5 || d < -1e-5) bad = bad " " $1 ":" $4 "/" want; n++ }
		END { print n, bad ? bad : "ok" }' "$d/h.tsv"
	assert_output "4 ok"
	# the model keeps the base rate and the schedule
	assert_equal "$(header "$d/full.model" lr)" 0.00999999978
	assert_equal "$(header "$d/full.model" lr_schedule)" cosine
	# not the constant-rate model
	train-unet $T --lr 0.01 -e 4 -o "$d/const.model" i64.npy m64.npy 2> /dev/null
	assert_equal "$(header "$d/const.model" lr_schedule)" ""
	! cmp -s "$d/full.model" "$d/const.model"
	# killed part way through an 8-epoch run (the first model on disk, then
	# 0.2 s) and resumed without --cosine: the schedule comes from the model,
	# and the result is the uninterrupted run's
	train-unet $T --lr 0.01 --cosine -e 8 -o "$d/ref.model" i300.npy m300.npy 2> /dev/null
	mkdir "$d/kill"
	train-unet $T --lr 0.01 --cosine -e 8 -o "$d/kill/m.model" i300.npy m300.npy 2> /dev/null &
	kill_after_first_model $! "$d/kill/m.model"
	[ "$(header "$d/kill/m.model" epoch)" -ge 1 ]
	train-unet -j 1 --resume "$d/kill/m.model" -o "$d/kill/m.model" i300.npy m300.npy 2> /dev/null
	cmp "$d/ref.model" "$d/kill/m.model"
}

@test "train-unet --patience: stops early and keeps the best epoch's weights" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	local s="--filters 4 -j 1 -b 8 --lr 0.05 --val-fraction 0.5"
	train-unet $s -e 1 -o "$d/one.model" i64.npy m64.npy 2> /dev/null
	train-unet $s --patience 1 -e 6 -o "$d/stop.model" i64.npy m64.npy 2> "$d/log"
	run tail -n 1 "$d/log"
	assert_output --regexp '^train-unet: epoch 2/6 .*\(early stop\)$'
	assert_equal "$(header "$d/stop.model" epoch)" 2
	assert_equal "$(header "$d/stop.model" stopped)" 1
	assert_equal "$(header "$d/stop.model" best_epoch)" 1
	# the parameters and statistics a reader sees are epoch 1's
	run "$PY" -c '
import sys
def body(path):
    d = open(path, "rb").read(); head, _, rest = d.partition(b"\n\n")
    h = dict(l.split(" ", 1) for l in head.decode().split("\n")[1:])
    return rest[:4 * (int(h["nparams"]) + int(h["nstats"]))]
print(body(sys.argv[1]) == body(sys.argv[2]))' "$d/one.model" "$d/stop.model"
	assert_output True
	# a stopped run stays stopped
	train-unet -j 1 --val-fraction 0.5 --resume "$d/stop.model" -e 6 -o "$d/more.model" \
		i64.npy m64.npy 2> /dev/null
	cmp "$d/stop.model" "$d/more.model"
}

@test "train-unet: killed with SIGKILL, the model is whole and --resume goes on exactly" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR/kill
	mkdir "$d"
	train-unet $T --lr 0.01 -e 100000 -o "$d/m.model" i64.npy m64.npy 2> /dev/null &
	kill_after_first_model $! "$d/m.model"
	[ -e "$d/m.model" ]
	# the model loads (size, header and checksum are checked) and predicts
	predict -j 1 "$d/m.model" i64.npy > "$BATS_TEST_TMPDIR/p.npy"
	local k
	k=$(header "$d/m.model" epoch)
	[ "$k" -ge 1 ]
	# nothing else but, when the kill came mid-write, the temporary file
	run sh -c "ls -A '$d' | grep -v -x -e 'm\.model' -e 'm\.model\.tmp......'"
	assert_output ""
	# resumed to k+1 epochs it equals an uninterrupted run of k+1
	train-unet -j 1 --resume "$d/m.model" -e $((k + 1)) -o "$d/m.model" i64.npy m64.npy 2> /dev/null
	train-unet $T --lr 0.01 -e $((k + 1)) -o "$BATS_TEST_TMPDIR/ref.model" i64.npy m64.npy 2> /dev/null
	cmp "$BATS_TEST_TMPDIR/ref.model" "$d/m.model"
}

@test "train-unet --history: a header and one row per epoch; training loss decreases" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 5 --history "$d/h.tsv" -o "$d/m.model" i200.npy m200.npy 2> /dev/null
	run sed -n 1p "$d/h.tsv"
	assert_output $'epoch\ttrain_loss\tval_loss\tlr\tseconds\timages_per_s'
	run awk -F '\t' 'NR > 1 { n++; ok = ok && $1 == n && NF == 6 && $3 == "nan" && $4 == 0.001 &&
		$5 > 0 && $6 > 0 && (n == 1 || $2 < last); last = $2 }
		BEGIN { ok = 1 } END { print n, ok ? "ok" : "bad" }' "$d/h.tsv"
	assert_output "5 ok"
	# the last row's loss is the model's train_loss
	run awk -F '\t' -v want="$(header "$d/m.model" train_loss)" 'END { d = $2 - want;
		print (d < 1e-6 && d > -1e-6) ? "same" : $2 " " want }' "$d/h.tsv"
	assert_output same
	# with validation: val_loss is a number; resumed runs append rows
	train-unet $T -e 2 --val-fraction 0.25 --history "$d/v.tsv" -o "$d/v.model" i64.npy m64.npy 2> /dev/null
	train-unet -j 1 -e 3 --val-fraction 0.25 --resume "$d/v.model" --history "$d/v.tsv" \
		-o "$d/v.model" i64.npy m64.npy 2> /dev/null
	train-unet $T -e 3 --val-fraction 0.25 --history "$d/w.tsv" -o "$d/w.model" i64.npy m64.npy 2> /dev/null
	cut -f 1-4 "$d/v.tsv" > "$d/v4"
	cut -f 1-4 "$d/w.tsv" > "$d/w4"
	cmp "$d/v4" "$d/w4"
	run awk -F '\t' 'NR > 1 && $3 + 0 > 0 { n++ } END { print n }' "$d/v.tsv"
	assert_output 3
}

@test "train-unet --loss mse: a 2-channel target from stack" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	stack m64.npy i64.npy > "$d/two.npy"
	train-unet $T -e 3 --loss mse --history "$d/h.tsv" -o "$d/m.model" i64.npy "$d/two.npy" 2> /dev/null
	assert_equal "$(header "$d/m.model" loss)" mse
	assert_equal "$(header "$d/m.model" out_channels)" 2
	assert_equal "$(header "$d/m.model" classes)" 0
	run awk -F '\t' 'NR > 1 { ok = ok && (NR == 2 || $2 < last); last = $2 } BEGIN { ok = 1 }
		END { print ok ? "decreasing" : "not" }' "$d/h.tsv"
	assert_output decreasing
	predict -j 1 "$d/m.model" i64.npy > "$d/p.npy"
	run npy_eval "$d/p.npy" '(a.dtype, a.shape)'
	assert_output "(dtype('float32'), (64, 2, 28, 28))"
}

@test "train-unet --loss ce: numpy class maps 0..2 and compose class maps" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	# 0 background, 1 foreground in the left half, 2 in the right half
	"$PY" -c '
import sys, numpy as np
m = np.load(sys.argv[1])
np.save(sys.argv[2], (m * np.where(np.arange(28) < 14, 1, 2)).astype(np.uint8))' m64.npy "$d/c3.npy"
	run npy_eval "$d/c3.npy" 'sorted(np.unique(a).tolist())'
	assert_output "[0, 1, 2]"
	train-unet $T -e 2 --loss ce --classes 3 -o "$d/c3.model" i64.npy "$d/c3.npy" 2> /dev/null
	assert_equal "$(header "$d/c3.model" classes)" 3
	assert_equal "$(header "$d/c3.model" out_channels)" 3
	predict -j 1 --argmax "$d/c3.model" i64.npy > "$d/a.npy"
	run npy_eval "$d/a.npy" '(a.dtype, a.shape, int(a.max()) < 3)'
	assert_output "(dtype('uint8'), (64, 28, 28), True)"

	compose -n 16 -m "$d/maps.npy" "$IMAGES" "$LABELS" > "$d/canvases.npy"
	train-unet $T -e 1 --loss ce --classes 11 -o "$d/c11.model" "$d/canvases.npy" "$d/maps.npy" 2> /dev/null
	assert_equal "$(header "$d/c11.model" out_channels)" 11
	assert_equal "$(header "$d/c11.model" height)" 64
	assert_equal "$(header "$d/c11.model" width)" 84
}

@test "train-unet -o -: one model on standard output, the same as the file" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 2 -o - i64.npy m64.npy > "$d/out.model" 2> /dev/null
	train-unet $T -e 2 -o "$d/file.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/out.model" "$d/file.model"
}

@test "train-unet: bad data is one error line, exit 1" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	pick --first 32 m64.npy > "$d/m32.npy"
	run train-unet $T -o "$d/x.model" i64.npy "$d/m32.npy"
	assert_failure 1
	assert_output --regexp '^train-unet: 64 inputs but 32 targets'
	assert_equal "${#lines[@]}" 1

	pad m64.npy > "$d/m32x32.npy"
	run train-unet $T -o "$d/x.model" i64.npy "$d/m32x32.npy"
	assert_failure 1
	assert_output --regexp '^train-unet: inputs 28x28 and targets 32x32 differ in image size'
	assert_equal "${#lines[@]}" 1

	# the raw images as class maps: values up to 255
	run train-unet $T --loss ce --classes 2 -o "$d/x.model" i64.npy i64.npy
	assert_failure 1
	assert_output --regexp '^train-unet: class value [0-9]+ at element [0-9]+ is not an integer in 0\.\.1 \(i64\.npy, sample 0\)'
	assert_equal "${#lines[@]}" 1

	run train-unet $T -o "$d/x.model" i64.npy "$d/no-such.npy"
	assert_failure 1
	assert_output --regexp '^train-unet: cannot open .*no-such\.npy'
	assert_equal "${#lines[@]}" 1

	run train-unet $T --val-fraction 0.01 -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	assert_output --regexp '^train-unet: --val-fraction 0.01 leaves no'
	assert_equal "${#lines[@]}" 1

	run train-unet -j 1 --resume i64.npy -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	assert_output --regexp '^train-unet: i64\.npy: not a segpipe model'
	assert_equal "${#lines[@]}" 1
	[ ! -e "$d/x.model" ]
}

@test "train-unet: usage errors exit 2" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	run train-unet --loss ce -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	assert_line --index 0 "train-unet: --loss ce needs --classes N"
	assert_line --index 1 "Try 'train-unet --help' for more information."
	assert_equal "${#lines[@]}" 2
	run train-unet --patience 2 -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	assert_line --index 0 --regexp '^train-unet: --patience and --plateau need validation data'
	run train-unet --plateau 2 -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	assert_line --index 0 --regexp '^train-unet: --patience and --plateau need validation data'
	run train-unet --classes 3 -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	assert_line --index 0 "train-unet: --classes goes with --loss ce"
	run train-unet --val i64.npy m64.npy --val-fraction 0.2 -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	assert_line --index 0 "train-unet: --val and --val-fraction exclude each other"
	run train-unet i64.npy m64.npy
	assert_failure 2
	assert_line --index 0 "train-unet: the model file (-o MODEL) is required"
	run train-unet -o "$d/x.model" i64.npy
	assert_failure 2
	assert_line --index 0 --regexp '^train-unet: missing operand'
	run train-unet --bogus -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	assert_line --index 0 "train-unet: unknown option '--bogus'"
	assert_equal "${#lines[@]}" 2
	local bad
	for bad in "--epochs 0" "-e x" "-b 0" "--lr abc" "--lr 0" "--loss foo" "--activation gelu" \
		"--depth 0" "--filters 0" "--classes 1" "--val-fraction 1.5" "--weight-decay -1" \
		"--patience 0" "-j 0" "-s -1"; do
		run train-unet $bad -o "$d/x.model" i64.npy m64.npy
		assert_failure 2
		assert_line --index 0 --regexp '^train-unet: '
		assert_equal "${#lines[@]}" 2
	done
	[ ! -e "$d/x.model" ]
}

@test "train-unet: --val takes two streams, before or after the operands" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	pick --range 64:96 i200.npy > "$d/vi.npy"
	otsu "$d/vi.npy" > "$d/vm.npy"
	train-unet $T -e 1 --val "$d/vi.npy" "$d/vm.npy" -o "$d/a.model" i64.npy m64.npy 2> /dev/null
	train-unet $T -e 1 -o "$d/b.model" i64.npy m64.npy --val "$d/vi.npy" "$d/vm.npy" 2> /dev/null
	cmp "$d/a.model" "$d/b.model"
	run header "$d/a.model" val_loss
	refute_output nan
	assert_equal "$(header "$d/a.model" best_epoch)" 1
}

@test "train-unet --precision: the key is written for bf16 only, read back, kept on resume; -v names it" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 1 -o "$d/def.model" i64.npy m64.npy 2> /dev/null
	train-unet $T -e 1 --precision fp32 -o "$d/fp32.model" i64.npy m64.npy 2> /dev/null
	train-unet $T -e 1 --precision bf16 -v -o "$d/bf16.model" i64.npy m64.npy 2> "$d/log"
	# the default: bf16 where the best kernel path multiplies bf16 natively,
	# else fp32; fp32 writes no key (the bytes of older versions)
	case $("$ROOT/tests/unit/test_kern" --paths | tail -n 1) in
	amx | avx512-bf16) def=bf16 ;;
	*) def=fp32 ;;
	esac
	cmp "$d/def.model" "$d/$def.model"
	assert_equal "$(header "$d/fp32.model" precision)" ""
	assert_equal "$(header "$d/bf16.model" precision)" bf16
	run grep -c '^train-unet: kernel [a-z0-9-]*, precision bf16$' "$d/log"
	assert_output 1
	# resumed, the run keeps the model's precision; --precision is refused
	run train-unet -j 1 -v --precision fp32 --resume "$d/bf16.model" -e 2 -o "$d/more.model" \
		i64.npy m64.npy
	assert_failure 2
	assert_line -n 0 "train-unet: --precision does nothing with --resume (the run keeps its model's settings)"
	train-unet -j 1 -v --resume "$d/bf16.model" -e 2 -o "$d/more.model" \
		i64.npy m64.npy 2> "$d/log2"
	assert_equal "$(header "$d/more.model" precision)" bf16
	run grep -c 'precision bf16$' "$d/log2"
	assert_output 1
	# an unknown value is refused, naming the file
	model_edit "$d/bf16.model" "$d/fp16.model" "precision bf16" "precision fp16"
	run train-unet -j 1 --resume "$d/fp16.model" -e 2 -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	assert_output --regexp "^train-unet: .*fp16\.model: bad value 'fp16' for precision \(fp32 or bf16\)$"
	assert_equal "${#lines[@]}" 1
	run train-unet $T --precision fp16 -o "$d/x.model" i64.npy m64.npy
	assert_failure 2
	assert_line --index 0 "train-unet: --precision: 'fp16' is not bf16 or fp32"
	[ ! -e "$d/x.model" ]
	run train-unet --precision bf16 --version
	assert_line --index 1 --regexp '^kernel [a-z0-9-]+, precision bf16$'
}

@test "train-unet: NaN or Inf in inputs, targets or validation data is one error line naming the sample" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	"$PY" -c '
import numpy as np, sys
x = np.load("i64.npy").astype(np.float32) / 255; x[3, 5, 5] = np.nan; np.save(sys.argv[1], x)
y = np.load("m64.npy").astype(np.float32); y[7, 0, 0] = np.inf; np.save(sys.argv[2], y)
y[7, 0, 0] = -np.inf; np.save(sys.argv[3], y)' "$d/nan.npy" "$d/inf.npy" "$d/minf.npy"
	run train-unet $T -e 1 -o "$d/x.model" "$d/nan.npy" m64.npy
	assert_failure 1
	assert_output --regexp '^train-unet: a non-finite value \(nan\) in the samples \(.*nan\.npy, sample 3\)$'
	assert_equal "${#lines[@]}" 1
	run train-unet $T -e 1 --loss mse -o "$d/x.model" i64.npy "$d/inf.npy"
	assert_failure 1
	assert_output --regexp '^train-unet: a non-finite value \(inf\) in the samples \(.*inf\.npy, sample 7\)$'
	run train-unet $T -e 1 --val i64.npy "$d/minf.npy" -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	assert_output --regexp '^train-unet: a non-finite value \(-inf\) in the samples \(.*minf\.npy, sample 7\)$'
	[ ! -e "$d/x.model" ]
}

@test "train-unet: a run that diverges stops, exit 1, and leaves the last good model as it was" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 2 --history "$d/h.tsv" -o "$d/m.model" i64.npy m64.npy 2> /dev/null
	cp "$d/m.model" "$d/keep.model"
	cp "$d/h.tsv" "$d/keep.tsv"
	# lr inf is refused before any training
	model_edit "$d/m.model" "$d/inf.model" "lr 0.00100000005" "lr inf"
	run train-unet -j 1 --resume "$d/inf.model" -e 4 -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	assert_output --regexp '^train-unet: .*inf\.model: lr inf is not a positive finite learning rate$'
	# lr 1e30: the loss turns NaN in epoch 3; the model and history of epoch 2 stay
	model_edit "$d/m.model" "$d/m.model" "lr 0.00100000005" "lr 1e30"
	cp "$d/m.model" "$d/big.model"
	run train-unet -j 1 --resume "$d/m.model" -e 4 --history "$d/h.tsv" -o "$d/m.model" \
		i64.npy m64.npy
	assert_failure 1
	assert_output --regexp '^train-unet: epoch 3: the training loss is nan; stopped, nothing written \(.*m\.model keeps epoch 2\)$'
	assert_equal "${#lines[@]}" 1
	cmp "$d/big.model" "$d/m.model"
	cmp "$d/keep.tsv" "$d/h.tsv"
	run train-unet -j 1 --resume "$d/big.model" -e 4 -o "$d/x.model" i64.npy m64.npy
	assert_failure 1
	[ ! -e "$d/x.model" ]
	run sh -c "ls -A '$d' | grep tmp"
	assert_output ""
}

@test "train-unet --history: killed between the history and the model write, --resume lists each epoch once" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 4 --history "$d/ref.tsv" -o "$d/ref.model" i64.npy m64.npy 2> /dev/null
	# what such a kill leaves: the history of epoch 3 beside the model of epoch 2
	train-unet $T -e 2 -o "$d/m.model" i64.npy m64.npy 2> /dev/null
	train-unet $T -e 3 --history "$d/h.tsv" -o "$d/m3.model" i64.npy m64.npy 2> /dev/null
	train-unet -j 1 --resume "$d/m.model" -e 4 --history "$d/h.tsv" -o "$d/m.model" \
		i64.npy m64.npy 2> /dev/null
	cmp "$d/ref.model" "$d/m.model"
	cut -f 1-4 "$d/ref.tsv" > "$d/ref4"
	cut -f 1-4 "$d/h.tsv" > "$d/h4"
	cmp "$d/ref4" "$d/h4"
}

@test "train-unet --history: a write that fails (file size limit) leaves the history whole and the model as it was" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 2 --history "$d/h.tsv" -o "$d/m.model" i64.npy m64.npy 2> /dev/null
	# pad epoch 1's row (spaces before its newline) to a file of 1020 bytes:
	# the next row crosses a 1024-byte limit
	"$PY" -c '
import sys
p = sys.argv[1]; lines = open(p).read().split("\n")
pad = 1020 - sum(len(l) + 1 for l in lines[:-1])
lines[1] += " " * pad
open(p, "w").write("\n".join(lines))' "$d/h.tsv"
	[ "$(wc -c < "$d/h.tsv")" -eq 1020 ]
	cp "$d/h.tsv" "$d/keep.tsv"
	cp "$d/m.model" "$d/keep.model"
	# a 1024-byte limit on the files written, SIGXFSZ ignored: writes fail with EFBIG
	run "$PY" -c '
import os, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
os.dup2(os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
os.execvp(sys.argv[2], sys.argv[2:])' "$d/log" train-unet -j 1 --resume "$d/m.model" -e 3 \
		--history "$d/h.tsv" -o "$d/m.model" i64.npy m64.npy
	assert_failure 1
	run cat "$d/log"
	assert_output --regexp 'cannot write .*h\.tsv: File too large'
	cmp "$d/keep.tsv" "$d/h.tsv"
	cmp "$d/keep.model" "$d/m.model"
	run sh -c "ls -A '$d' | grep tmp"
	assert_output ""
}

@test "train-unet: man pages are lint-clean" {
	run mandoc -T lint -W warning "$ROOT/man/man1/train-unet.1" "$ROOT/man/man5/segpipe-model.5"
	assert_success
	assert_output ""
}
