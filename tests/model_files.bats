#!/usr/bin/env bats
# Model files as every tool that reads one sees them (predict, encode,
# train-unet --resume): a path that is not a regular file is refused at
# once, whatever it is; a crafted model with a valid checksum that claims
# sizes its file does not hold is refused before anything is allocated; and
# every such error is one line that names the file.
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	pick --first 16 "$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz" > i16.npy
	otsu i16.npy > m16.npy
	train-unet -j 1 -e 1 --depth 1 --filters 2 -b 8 -o unet.model i16.npy m16.npy 2> /dev/null
	train-mlp -j 1 --layers 784,8,784 --activations relu,sigmoid -e 1 -b 8 \
		-o mlp.model i16.npy i16.npy 2> /dev/null
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	T=$BATS_TEST_TMPDIR
}

# craft SRC DST KEY=VALUE...: the model SRC with those header values
# replaced, and the right CRC-32, so only the new checks can refuse it.
PY_DEFS='
def craft(src, dst, *kv):
    data = open(src, "rb").read()[:-4]
    head, _, body = data.partition(b"\n\n")
    lines = head.decode().split("\n")
    for k, v in (a.split("=", 1) for a in kv):
        lines = [l if l.split(" ")[0] != k else k + " " + v for l in lines]
    out = "\n".join(lines).encode() + b"\n\n" + body
    open(dst, "wb").write(out + zlib.crc32(out).to_bytes(4, "little"))'
craft() {
	py 'craft(*sys.argv[1:])' "$@"
}

# refused TOOL... -- MODEL: each use of MODEL below fails with exit 1 in
# about 1 GB and 10 s, with one line "TOOL: MODEL: ...", never an allocation
# failure (the file's name is there, the claim was not allocated)
refused() {
	local model=$1 run
	shift
	for run in "predict $model i16.npy" "encode $model i16.npy" \
	           "train-unet -j 1 -e 2 --resume $model -o $T/out.model i16.npy m16.npy"; do
		run bash -c "$MEMLIMIT"'; exec timeout 10 '"$run"' 2>&1 > /dev/null'
		assert_failure 1
		assert_equal "${#lines[@]}" 1
		assert_output --regexp "^${run%% *}: $model: "
		refute_output --partial "out of memory"
	done
	[ ! -e "$T/out.model" ]
}

@test "model files: a FIFO, a symbolic link to one, a directory, devices, a socket are refused at once" {
	mkfifo "$T/fifo"
	ln -s "$T/fifo" "$T/link"
	"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/sock"
	for m in "$T/fifo" "$T/link" "$T" /dev/zero /dev/null "$T/sock"; do
		refused "$m"
	done
	run predict "$T/fifo" i16.npy
	assert_output "predict: $T/fifo: a FIFO, not a model file (a model is a regular file)"
	run encode "$T" i16.npy
	assert_output "encode: $T: a directory, not a model file (a model is a regular file)"
	run train-unet --resume /dev/zero -o "$T/x.model" i16.npy m16.npy
	assert_output "train-unet: /dev/zero: a character device, not a model file (a model is a regular file)"
}

@test "model files: an mlp header claiming huge layers is refused before they are allocated" {
	# 784 x 10^6 x 784 would be 25 GB of parameters, gradients and Adam state
	local layers acts
	for layers in 784,1000000,784 784,16777216,784 784,16777216,16777216,784 784,9,784; do
		acts=relu,sigmoid
		[ "${layers//[^,]/}" = ,, ] || acts=relu,relu,sigmoid
		craft mlp.model "$T/huge.model" "layers=$layers" "activations=$acts"
		run bash -c "$MEMLIMIT"'; timeout 10 predict "$1" i16.npy 2>&1 > /dev/null' _ "$T/huge.model"
		assert_failure 1
		assert_output "predict: $T/huge.model: the model has 13336 parameters, but layers $layers need $(
			"$PY" -c 'import sys; s = [int(v) for v in sys.argv[1].split(",")]
print(sum((a + 1) * b for a, b in zip(s, s[1:])))' "$layers")"
		refused "$T/huge.model"
	done
	# a size beyond what an mlp may have, and layers that disagree with the channels
	craft mlp.model "$T/big.model" layers=784,16777217,784
	refused "$T/big.model"
	craft mlp.model "$T/in.model" layers=100000,8,784 in_channels=100000
	refused "$T/in.model"
}

@test "model files: a unet header claiming what its file does not hold is refused, naming the file" {
	# filters and depth that imply far more parameters than the file has,
	# or more than a unet may have; channels out of range; the batch resumed
	local claim
	for claim in "depth=0 filters=65536" filters=4096 "depth=8 filters=256" depth=9 "depth=8 filters=1024" \
	             in_channels=5000 out_channels=300 in_channels=1000 nstats=40; do
		# shellcheck disable=SC2086
		craft unet.model "$T/huge.model" $claim
		refused "$T/huge.model"
	done
	craft unet.model "$T/f.model" depth=0 filters=65536
	run predict "$T/f.model" i16.npy
	assert_output --regexp "^predict: $T/f.model: the model has 463 parameters, but its unet header implies [0-9]+$"
	craft unet.model "$T/d.model" depth=8 filters=1024
	run predict "$T/d.model" i16.npy
	assert_output "predict: $T/d.model: the unet header has filters 1024 too large for depth 8"
	for b in 0 1073741824; do
		craft unet.model "$T/b.model" batch=$b
		run bash -c "$MEMLIMIT"'; timeout 10 train-unet -j 1 -e 2 --resume "$1" -o "$2" i16.npy m16.npy 2>&1' \
			_ "$T/b.model" "$T/out.model"
		assert_failure 1
		assert_output "train-unet: $T/b.model: batch $b out of range 1..65536"
	done
}

@test "model files: a model of the wrong kind is refused, naming the file" {
	run train-unet -j 1 -e 2 --resume mlp.model -o "$T/out.model" i16.npy m16.npy
	assert_failure 1
	assert_output "train-unet: mlp.model: the model is an mlp, not a unet"
	run encode unet.model i16.npy
	assert_failure 1
	assert_output "encode: unet.model: the model is a unet, not an mlp or a cnn"
}
