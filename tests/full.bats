#!/usr/bin/env bats
# A full disk is an error, never a silent success: every tool's output to
# /dev/full (every write fails with ENOSPC) ends with exit 1 and exactly one
# line "tool: ... No space left on device"; files a tool writes by name
# (--history, --labels-out, -m) likewise.

load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	pick --first 20 "$IMAGES" > i.npy
	pick --first 20 "$LABELS" > l.npy
	otsu i.npy > m.npy
	mkmask --kind vstripe --size 28x28 --width 3-5 -n 20 > k.npy
	train-unet --filters 4 -e 1 -j 1 -b 10 -o u.model i.npy m.npy 2>/dev/null
	train-mlp --layers 784,2,784 --activations sigmoid,sigmoid -e 1 -o p.model i.npy i.npy 2>/dev/null
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	[ -w /dev/full ] || skip "no /dev/full on this system"
}

# full CMD...: CMD with standard output on /dev/full fails as it should
full() {
	local tool=$1
	run bash -c '"$@" 2>&1 >/dev/full' _ "$@"
	[ "$status" -eq 1 ] && [ "${#lines[@]}" -eq 1 ] &&
		[[ "${lines[0]}" == "$tool: "*"No space left on device"* ]] ||
		{ echo "$*: exit $status, output:"; echo "$output"; return 1; }
}

@test "full: every stream tool's output to a full disk is exit 1 and one line" {
	full otsu i.npy
	full otsu --thresholds i.npy
	full mkmask --kind patch --size 28x28 --width 5 -n 20
	full occlude k.npy i.npy
	full occlude -F i.npy k.npy i.npy
	full clip i.npy
	full mix i.npy i.npy
	full pick --first 10 i.npy
	full pick --shuffle i.npy
	full pad i.npy
	full pad -P i.npy
	full stack i.npy m.npy
	full chan -c 0 i.npy
	full montage i.npy
	full totsv i.npy
	ln -sf /dev/null null
	full compose -n 5 -m null i.npy l.npy
	full predict -j 1 u.model i.npy
	full predict -j 1 --threshold 0.5 u.model i.npy
	full encode -j 1 p.model i.npy
}

@test "full: reports to a full disk: iou and mse" {
	full iou m.npy m.npy
	full mse i.npy i.npy
}

@test "full: models on standard output and files written by name" {
	# (train-unet also reports its epoch on standard error first)
	run bash -c 'train-unet --filters 4 -e 1 -j 1 -o - i.npy m.npy 2>&1 >/dev/full'
	assert_equal "$status" 1
	assert_equal "${lines[-1]}" "train-unet: cannot write stdout: No space left on device"
	# named files: through a link to /dev/full (a link, so that a tool that
	# renamed a file over the name would replace the link, not the device)
	ln -sf /dev/full full
	run bash -c 'train-unet --filters 4 -e 1 -j 1 --history full -o "$1/x.model" i.npy m.npy 2>&1' _ \
		"$BATS_TEST_TMPDIR"
	assert_equal "$status" 1
	assert_equal "${lines[-1]}" "train-unet: cannot write full: No space left on device"
	run bash -c 'train-unet --filters 4 -e 1 -j 1 -o full i.npy m.npy 2>&1'
	assert_equal "$status" 1
	assert_equal "${lines[-1]}" "train-unet: cannot write full: No space left on device"
	run bash -c 'train-mlp --layers 784,2,784 --activations sigmoid,sigmoid -e 1 -o full i.npy i.npy 2>&1'
	assert_equal "$status" 1
	assert_equal "${lines[-1]}" "train-mlp: cannot write full: No space left on device"
	run bash -c 'pick --labels l.npy --keep 1 --labels-out full i.npy 2>&1 >/dev/null'
	assert_equal "$status" 1
	assert_output --regexp '^pick: .*No space left on device$'
	assert_equal "${#lines[@]}" 1
	run bash -c 'pick --shuffle --index-out full i.npy 2>&1 >/dev/null'
	assert_equal "$status" 1
	assert_equal "$output" "pick: cannot write full: No space left on device"
	[ -L full ] && [ -c full ] && [ -L null ] && [ -c null ]
}

@test "full: a named output that is a FIFO or a device is written as it is, not replaced" {
	local d=$BATS_TEST_TMPDIR
	mkfifo "$d/fifo"
	cat "$d/fifo" > "$d/got" &
	train-unet --filters 4 -e 1 -j 1 -o "$d/fifo" i.npy m.npy 2>/dev/null
	wait
	[ -p "$d/fifo" ]
	train-unet --filters 4 -e 1 -j 1 -o "$d/file.model" i.npy m.npy 2>/dev/null
	cmp "$d/got" "$d/file.model"
	ln -s /dev/null "$d/null"
	pick --labels l.npy --keep 1 --labels-out "$d/null" i.npy > /dev/null
	[ -L "$d/null" ] && [ -c "$d/null" ]
	# a directory is one clear error
	run train-unet --filters 4 -e 1 -j 1 -o "$d" i.npy m.npy
	assert_equal "$status" 1
	assert_equal "${lines[-1]}" "train-unet: cannot write $d: it is a directory"
}
