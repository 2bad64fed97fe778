#!/usr/bin/env bats
load helper

setup_file() {
	local d="$BATS_FILE_TMPDIR"
	"$PY" -c '
import gzip, sys, numpy as np
raw = gzip.decompress(open(sys.argv[1], "rb").read())
x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
np.save(sys.argv[2], x[:100])
np.save(sys.argv[3], np.zeros((4, 10, 10), np.float32))' "$IMAGES" "$d/img100.npy" "$d/small.npy"
	train-mlp --precision fp32 --layers 784,2,784 --activations sigmoid,linear --epochs 2 --batch 20 \
		-o "$d/ae2.model" "$d/img100.npy" "$d/img100.npy" 2> /dev/null
	train-mlp --precision fp32 --layers 784,16,2,16,784 --activations relu,tanh,leaky_relu,sigmoid --epochs 2 \
		--batch 20 -o "$d/deep.model" "$d/img100.npy" "$d/img100.npy" 2> /dev/null
	train-mlp --precision fp32 --layers 784,784 --activations sigmoid --epochs 1 --batch 50 \
		-o "$d/flat.model" "$d/img100.npy" "$d/img100.npy" 2> /dev/null
}

setup() {
	T="$BATS_TEST_TMPDIR"
	D="$BATS_FILE_TMPDIR"
	X="$D/img100.npy"
}

@test "encode: --help and --version" {
	run encode --help
	assert_success
	assert_output --partial "Usage: encode"
	run encode --version
	assert_success
	assert_line --index 0 --regexp "^encode \(segpipe\) [0-9.]+$"
	assert_line --index 1 --regexp '^kernel [a-z0-9-]+, precision (fp32|bf16)$'
}

@test "encode: the codes of a 784-2-784 autoencoder: (N,2) float32, as numpy computes them" {
	# tolerance: 1e-5 absolute (float32 sums of 784 products)
	encode "$D/ae2.model" "$X" > "$T/c.npy"
	run py '
c = load(sys.argv[1]); x = load(sys.argv[2]).reshape(100, -1) / 255.0
hdr, p = read_mlp(sys.argv[3])
W, b, f = layers(hdr, p)[0]
want = act(x @ W.T + b, f)
print(c.shape, c.dtype, float(np.abs(c - want).max()) < 1e-5)' "$T/c.npy" "$X" "$D/ae2.model"
	assert_success
	assert_output "(100, 2) float32 True"
}

@test "encode: the default is the smallest hidden layer; --layer K is layer K" {
	# relu, tanh, leaky_relu (slope 0.01), sigmoid; to 1e-5 absolute
	encode "$D/deep.model" "$X" > "$T/default.npy"
	for k in 0 1 2 3 4; do
		encode --layer $k "$D/deep.model" "$X" > "$T/l$k.npy"
	done
	cmp "$T/default.npy" "$T/l2.npy"
	run py '
x = load(sys.argv[1]).reshape(100, -1) / 255.0
hdr, p = read_mlp(sys.argv[2])
a = [x]
for W, b, f in layers(hdr, p):
    z = a[-1] @ W.T + b
    a.append(np.where(z > 0, z, 0.01 * z) if f == "leaky_relu" else act(z, f))
for k in range(5):
    c = load(sys.argv[3] + "/l%d.npy" % k)
    print(k, c.shape, float(np.abs(c - a[k]).max()) < 1e-5)' "$X" "$D/deep.model" "$T"
	assert_success
	assert_output "0 (100, 784) True
1 (100, 16) True
2 (100, 2) True
3 (100, 16) True
4 (100, 784) True"
}

@test "encode: standard input, in batches: the same bytes as a file, sample by sample" {
	# 600 samples: more than one forward batch of 256
	"$PY" -c '
import numpy as np, sys
x = np.load(sys.argv[1]); np.save(sys.argv[2], np.concatenate([x] * 6))' "$X" "$T/x600.npy"
	encode "$D/ae2.model" "$T/x600.npy" > "$T/a.npy"
	encode "$D/ae2.model" < "$T/x600.npy" > "$T/b.npy"
	encode "$D/ae2.model" - < "$T/x600.npy" > "$T/c.npy"
	cmp "$T/a.npy" "$T/b.npy"
	cmp "$T/a.npy" "$T/c.npy"
	run py '
c = load(sys.argv[1]); print(c.shape, np.array_equal(c[:100], c[500:]))' "$T/a.npy"
	assert_output "(600, 2) True"
}

@test "encode: bad model files" {
	printf 'hello\n' > "$T/junk.model"
	run encode "$T/junk.model" "$X"
	assert_failure 1
	assert_output --regexp '^encode: .*junk.model: not a segpipe model file'
	assert_equal "${#lines[@]}" 1
	run encode "$T/missing.model" "$X"
	assert_failure 1
	assert_output --regexp '^encode: .*missing.model: cannot open'
	assert_equal "${#lines[@]}" 1
	head -c 2000 "$D/ae2.model" > "$T/short.model"
	run encode "$T/short.model" "$X"
	assert_failure 1
	assert_output --regexp '^encode: .*short.model: truncated'
	assert_equal "${#lines[@]}" 1
	# one parameter byte changed: the checksum no longer matches
	"$PY" -c '
import sys
d = bytearray(open(sys.argv[1], "rb").read()); d[len(d) - 100] ^= 1
open(sys.argv[2], "wb").write(d)' "$D/ae2.model" "$T/flip.model"
	run encode "$T/flip.model" "$X"
	assert_failure 1
	assert_output --regexp '^encode: .*flip.model: checksum mismatch'
	assert_equal "${#lines[@]}" 1
	# a newer format version
	sed '1s/segpipe-model 1/segpipe-model 9/' "$D/ae2.model" > "$T/new.model"
	run encode "$T/new.model" "$X"
	assert_failure 1
	assert_output --regexp '^encode: .*new.model: model format version 9 is newer'
	assert_equal "${#lines[@]}" 1
	# a valid file of another kind
	"$PY" -c '
import sys, zlib
h = b"segpipe-model 1\nkind unet\nin_channels 1\nout_channels 1\ndepth 1\nfilters 1\n" \
    b"activation relu\nloss bce\nnparams 0\nnstats 0\nadam 0\n\n"
open(sys.argv[1], "wb").write(h + zlib.crc32(h).to_bytes(4, "little"))' "$T/unet.model"
	run encode "$T/unet.model" "$X"
	assert_failure 1
	assert_output --regexp '^encode: .*unet.model: the model is a unet, not an mlp or a cnn$'
	assert_equal "${#lines[@]}" 1
}

@test "encode: samples of the wrong size, layers out of range, usage errors" {
	run encode "$D/ae2.model" "$D/small.npy"
	assert_failure 1
	assert_output --regexp '^encode: the model takes 784 values, the samples of .*small.npy have 100 \(10x10\)$'
	assert_equal "${#lines[@]}" 1
	run encode --layer 3 "$D/ae2.model" "$X"
	assert_failure 1
	assert_output --regexp '^encode: --layer 3: .* has layers 0..2$'
	assert_equal "${#lines[@]}" 1
	run encode "$D/flat.model" "$X"
	assert_failure 1
	assert_output --regexp '^encode: .*flat.model has no hidden layer'
	assert_equal "${#lines[@]}" 1
	encode --layer 1 "$D/flat.model" "$X" > "$T/out.npy"
	for args in "" "--layer x $D/ae2.model" "--bogus $D/ae2.model" "$D/ae2.model $X $X" "-"; do
		run encode $args
		assert_failure 2
		assert_line --index 0 --regexp '^encode: '
		assert_equal "${#lines[@]}" 2
	done
}

@test "encode --precision: bf16 codes agree with fp32 within 0.05; -v names it; a bad value exits 2" {
	encode -j 1 "$D/ae2.model" "$X" > "$T/fp32.npy"
	encode -j 1 --precision bf16 "$D/ae2.model" "$X" > "$T/bf16.npy"
	run py 'a, b = load(sys.argv[1]), load(sys.argv[2]); print(a.shape == b.shape, np.abs(a - b).max() < 0.05)' \
		"$T/fp32.npy" "$T/bf16.npy"
	assert_output "True True"
	encode -v -j 1 --precision bf16 "$D/ae2.model" "$X" 2> "$T/log" > /dev/null
	run cat "$T/log"
	assert_output --regexp '^encode: kernel [a-z0-9-]+, precision bf16$'
	run encode --precision fp8 "$D/ae2.model" "$X"
	assert_failure 2
	assert_line --index 0 "encode: --precision: 'fp8' is not bf16 or fp32"
}
