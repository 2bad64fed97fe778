#!/usr/bin/env bats
# python/segpipe.py, the reader for users: a stream from a file or a pipe,
# whole or batch by batch, in every format the tools write or read, and
# model files as arrays; installed by make install. And the numpy loop of
# segpipe-stream(5), which must work on a pipe.
load helper

SP="$ROOT/python"

# spy SCRIPT ARGS...: python with segpipe.py importable and the test helpers
spy() {
	PYTHONPATH="$SP" py "$@"
}

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	pick --first 60 "$IMAGES" > i60.npy
	otsu i60.npy > m60.npy
	# many records: 6000 images through a pipe
	py 'np.save("big.npy", np.tile(load("i60.npy"), (100, 1, 1)))'
	mix big.npy big.npy | cat > rec.npy
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

@test "python: load reads a stream whole from a file, '-' and a pipe, as the test reader does" {
	run spy 'import segpipe
a = segpipe.load("rec.npy"); b = load("rec.npy")
print(a.shape, a.dtype, np.array_equal(a, b))' 
	assert_output "(6000, 28, 28) float32 True"
	# from a pipe, as '-' and as a file object: no seeking
	run bash -c 'cat rec.npy | PYTHONPATH="$1" "$2" -c "import segpipe, sys; a = segpipe.load(\"-\"); print(a.shape)"' _ "$SP" "$PY"
	assert_output "(6000, 28, 28)"
	run bash -c 'mix big.npy big.npy | PYTHONPATH="$1" "$2" -c "import segpipe, sys; a = segpipe.load(sys.stdin.buffer); print(a.shape, float(a.sum()))"' _ "$SP" "$PY"
	assert_output "$(spy 'a = load("rec.npy"); print(a.shape, float(a.sum()))')"
}

@test "python: batches of n samples whatever the records; records as they are" {
	run bash -c 'cat rec.npy | PYTHONPATH="$1" "$2" -c "
import segpipe, numpy as np
n = [len(b) for b in segpipe.batches(\"-\", 1000)]
print(n)"' _ "$SP" "$PY"
	assert_output "[1000, 1000, 1000, 1000, 1000, 1000]"
	run spy 'import segpipe
bs = list(segpipe.batches("rec.npy", 777)); rs = list(segpipe.records("rec.npy"))
print(len(rs) > 1, [len(b) for b in bs][-1], np.array_equal(np.concatenate(bs), load("rec.npy")))'
	assert_output "True 561 True"
	# an empty stream: no batch, and load gives its 0 samples
	pick -n 0 i60.npy > e.npy
	run spy 'import segpipe; print(list(segpipe.batches("e.npy", 5)), segpipe.load("e.npy").shape)'
	assert_output "[] (0, 28, 28)"
}

@test "python: every format: gzip, PGM and PAM streams, IDX, npz" {
	gzip -c rec.npy > rec.npy.gz
	otsu -P i60.npy > m.pgm
	stack i60.npy m60.npy | pick -P > s.pam
	py 'np.savez_compressed("z.npz", images=load("i60.npy"), masks=load("m60.npy"))'
	run spy 'import segpipe
ok = [np.array_equal(segpipe.load("rec.npy.gz"), load("rec.npy")),
      np.array_equal(segpipe.load("m.pgm") // 255, load("m60.npy")),
      segpipe.load("s.pam").shape == (60, 2, 28, 28),
      np.array_equal(segpipe.load("s.pam")[:, 0], load("i60.npy")),
      np.array_equal(segpipe.load(sys.argv[1]), load(sys.argv[1])),
      np.array_equal(segpipe.load("z.npz:masks"), load("m60.npy")),
      np.array_equal(segpipe.load("z.npz"), load("i60.npy"))]
print(ok)' "$IMAGES"
	assert_output "[True, True, True, True, True, True, True]"
	run spy 'import segpipe; segpipe.load("m60.npy.nothere")'
	assert_failure
}

@test "python: save writes what the tools read" {
	run spy 'import segpipe; segpipe.save("x.npy", load("i60.npy")[:, None] / 255)'
	assert_success
	otsu --thresholds x.npy > a
	otsu --thresholds i60.npy > b
	cmp a b
}

@test "python: load_model: header, parameters, statistics, Adam state and the layers in PyTorch shapes" {
	train-unet -j 1 --filters 4 --depth 2 -e 1 -b 20 -o u.model i60.npy m60.npy 2> /dev/null
	run spy 'import segpipe
m = segpipe.load_model("u.model"); h, p, s = read_model("u.model")
print(m.kind, len(m.params) == int(h["nparams"]), np.array_equal(m.params, p),
      np.array_equal(m.stats, s), len(m.adam_m) == len(p), m.layers[0][0], m.layers[0][1].shape,
      m.layers[-2][0], m.layers[-2][1].shape)'
	assert_output "unet True True True True enc0.0.conv.weight (4, 1, 3, 3) head.weight (1, 4, 1, 1)"
	# an MLP's layers compute what predict computes (fp32; tolerance 1e-5)
	py 'np.save("v.npy", (load("i60.npy") / 255).astype(np.float32).reshape(60, 784))'
	train-mlp -j 1 --precision fp32 --layers 784,16,784 --activations relu,sigmoid -e 2 -b 20 \
		-o m.model v.npy v.npy 2> /dev/null
	predict -j 1 m.model v.npy > pv.npy
	run spy 'import segpipe
m = segpipe.load_model("m.model"); x = load("v.npy").astype(np.float64)
L = dict(m.layers); acts = m.header["activations"].split(",")
for i, a in enumerate(acts):
    x = act(x @ L["dense%d.weight" % i].T + L["dense%d.bias" % i], a)
print([n for n, _ in m.layers], float(np.abs(x - load("pv.npy")).max()) < 1e-5)'
	assert_output "['dense0.weight', 'dense0.bias', 'dense1.weight', 'dense1.bias'] True"
	# a damaged file is refused
	head -c 100 u.model > cut.model
	run spy 'import segpipe; segpipe.load_model("cut.model")'
	assert_failure
	assert_output --partial "bad CRC-32"
}

@test "python: make install puts segpipe.py in PYTHONDIR, importable from there" {
	make -s -C "$ROOT" install DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr > /dev/null
	run env PYTHONPATH="$BATS_TEST_TMPDIR/root/usr/lib/python3/dist-packages" "$PY" -c \
		'import segpipe; print(segpipe.__file__.endswith("dist-packages/segpipe.py"), segpipe.load("m60.npy").shape)'
	assert_output "True (60, 28, 28)"
}

@test "python: the numpy loop of segpipe-stream(5) reads records from a pipe" {
	# the example between the "pipe-safe records" comment and .Ed, unescaped
	sed -n '/^\.\\" pipe-safe records/,/^\.Ed/p' "$ROOT/man/man5/segpipe-stream.5" |
		sed '1,2d;$d' | sed 's/\\e/\\/g' > loop.py
	[ -s loop.py ]
	run bash -c 'mix big.npy big.npy | "$1" loop.py' _ "$PY"
	assert_success
	run bash -c 'mix big.npy big.npy | "$1" -c "exec(open(\"loop.py\").read()); print(a.shape)"' _ "$PY"
	assert_output "(6000, 28, 28)"
	run bash -c '"$1" -c "exec(open(\"loop.py\").read()); print(a.shape)" < rec.npy' _ "$PY"
	assert_output "(6000, 28, 28)"
}
