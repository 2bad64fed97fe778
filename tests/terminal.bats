#!/usr/bin/env bats
# Binary output (tensor streams, PGM, models) is not written to a terminal
# unless --force is given (lib/io/terminal.c; gzip's rule).
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	pick --first 4 "$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz" > i.npy
	otsu i.npy > m.npy
	pick --first 4 "$BATS_TEST_DIRNAME/fixtures/mnist-test-500-labels.idx.gz" > l.npy
	train-unet --filters 2 --depth 1 -j 1 -e 1 -o u.model i.npy m.npy 2> /dev/null
	train-mlp --layers 784,2,784 --activations relu,sigmoid -j 1 -e 1 -o a.model i.npy i.npy 2> /dev/null
}

# every tool that writes binary data to standard output, with its operands
WRITERS=(
	"chan -c 0 i.npy"
	"clip i.npy"
	"compose -n 1 -m c.npy i.npy l.npy"
	"encode a.model i.npy"
	"mix i.npy i.npy"
	"mkmask --kind patch --size 8x8 --width 2 -n 1"
	"montage i.npy"
	"occlude m.npy i.npy"
	"otsu i.npy"
	"otsu -P i.npy"
	"pad --size 32x32 i.npy"
	"pick --first 1 i.npy"
	"predict -j 1 u.model i.npy"
	"stack i.npy i.npy"
)

@test "terminal: every binary writer refuses a terminal with one line, exit 1" {
	cd "$BATS_FILE_TMPDIR"
	local cmd
	for cmd in "${WRITERS[@]}"; do
		# script gives the command a terminal for its standard output
		run script -qec "$cmd; echo status=\$?" /dev/null
		assert_output "${cmd%% *}: refusing to write a$([ "${cmd%% *}" = montage ] || [ "$cmd" = "otsu -P i.npy" ] && echo "n image" || echo " tensor") stream to a terminal; redirect it (> FILE or | TOOL), or use --force"$'\r'$'\n'"status=1"$'\r'
	done
}

@test "terminal: --force writes to a terminal all the same; pipes and files are untouched" {
	cd "$BATS_FILE_TMPDIR"
	local cmd
	for cmd in "${WRITERS[@]}"; do
		run script -qec "$cmd --force > /dev/tty; echo status=\$?" /dev/null 2> /dev/null
		assert_output --partial "status=0"
		refute_output --partial "refusing"
		# through a pipe, as always
		run sh -c "$cmd | wc -c"
		assert_success
		[ "$output" -gt 0 ]
	done
	# text output is no binary: iou and otsu --thresholds print to a terminal
	run script -qec "otsu --thresholds i.npy" /dev/null
	refute_output --partial refusing
}
