#!/usr/bin/env bats
# Empty streams: a stream of no samples is one npy record of shape
# (0, sample shape...), written by every writer when it has nothing to
# write and read by every reader as zero samples (segpipe-stream(5)).
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	pick --first 0 "$IMAGES" > e.npy
	"$PY" -c "import numpy as np
np.save('e-f4.npy', np.zeros((0, 28, 28), np.float32))
np.save('e-chw.npy', np.zeros((0, 2, 28, 28), np.uint8))
np.save('e-vec.npy', np.zeros((0, 5), '>f8'))
np.save('e-scalar.npy', np.zeros((0,), np.uint8))"
	printf '\0\0\010\003\0\0\0\0\0\0\0\034\0\0\0\034' > e.idx
	gzip -c e-f4.npy > e-f4.npy.gz
	pick --first 8 "$IMAGES" > i8.npy
	otsu i8.npy > m8.npy
	train-unet -j 1 --filters 2 --depth 1 -e 1 -b 8 -o u.model i8.npy m8.npy 2>/dev/null
	train-mlp -j 1 --layers 784,2,784 --activations sigmoid,linear --epochs 1 --batch 8 -o mlp.model i8.npy i8.npy 2>/dev/null
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# empty_out CMD...: CMD succeeds, silent, and writes a stream numpy reads
# as an array of 0 samples
empty_out() {
	run bash -c '"$@" > out.npy' _ "$@"
	assert_success
	assert_output ""
	run npy_eval out.npy 'a.shape[0]'
	assert_output 0
}

@test "empty: writers emit a record of 0 samples that says the shape" {
	run npy_eval e.npy 'a.shape, a.dtype'
	assert_output "((0, 28, 28), dtype('uint8'))"
	run bash -c 'mkmask --kind vstripe --size 32x30 --width 3 -n 0 | totsv --header'
	assert_success
	run bash -c 'mkmask --kind vstripe --size 32x30 --width 3 -n 0 > mk.npy'
	run npy_eval mk.npy 'a.shape'
	assert_output "(0, 30, 32)"
}

@test "empty: every reader takes an empty stream of any dtype, shape and format as zero samples" {
	for f in e.npy e-f4.npy e-chw.npy e-vec.npy e-scalar.npy e.idx e-f4.npy.gz; do
		run totsv "$f"
		assert_success
		assert_output ""
		run bash -c 'totsv < "$1"' _ "$f"
		assert_success
		assert_output ""
	done
	# an empty record between full ones contributes nothing
	pick --first 2 "$IMAGES" > two.npy
	cat two.npy e.npy two.npy > mid.npy
	run otsu --thresholds mid.npy
	assert_success
	assert_equal "${#lines[@]}" 4
}

@test "empty: pick -n 0 | totsv, and every filter passes an empty stream on" {
	run bash -c 'pick -n 0 "$1" | totsv' _ "$IMAGES"
	assert_success
	assert_output ""
	for f in e.npy e-f4.npy e-chw.npy; do
		empty_out otsu "$f"
		empty_out pick --shuffle "$f"
		empty_out pick --range -3: "$f"
		empty_out pick -n 5 "$f"
		empty_out pad --size 32x32 "$f"
		empty_out chan -c 0 "$f"
		empty_out stack "$f" "$f"
		empty_out mix "$f" "$f"
		empty_out mix --shuffle "$f" "$f"
		empty_out occlude e.npy "$f"
		empty_out occlude m8.npy "$f"
		empty_out occlude -F "$f" m8.npy "$f"
		empty_out clip "$f"
	done
	empty_out pick --labels e-scalar.npy --keep 1 e.npy
	empty_out pick --labels e-scalar.npy --keep 1 --labels-out l.npy e.npy
	run npy_eval l.npy 'a.shape'
	assert_output "(0,)"
	empty_out predict u.model e.npy
	empty_out predict --threshold 0.5 u.model e-f4.npy
	empty_out predict mlp.model e.npy
	empty_out encode mlp.model e.npy
	empty_out compose -n 0 -m c.npy "$IMAGES" "$LABELS"
	run npy_eval c.npy 'a.shape'
	assert_output "(0, 64, 84)"
	run otsu --thresholds e.npy
	assert_success
	assert_output ""
	# -P: a PGM stream of no images is no bytes
	run bash -c 'otsu -P e.npy | wc -c'
	assert_output 0
}

@test "empty: tools that need samples say so in one line" {
	for cmd in "montage e.npy" "iou e.npy e.npy" "mse e.npy e.npy" \
		   "occlude e.npy i8.npy" "train-unet -e 1 -o x.model e.npy e.npy" \
		   "train-mlp --layers 784,2,784 --activations sigmoid,linear -e 1 -o x.model e.npy e.npy"; do
		run $cmd
		assert_failure 1
		assert_equal "${#lines[@]}" 1
	done
}
