#!/usr/bin/env bats
# numpy both ways: what the tools write to a regular file is one .npy array
# that np.load reads whole; a pipe gets records, which python/segpipe.py
# reads (file or pipe, whole or batch by batch), with model files; .npz
# archives are read by every tool; writers keep the sample shape.
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	pick --first 100 "$IMAGES" | cat > i100.npy      # records: through a pipe
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

@test "numpy: a tool's output to a regular file is one array np.load reads whole" {
	# many records' worth: 60000 masks through a pipe are many records
	py 'a = load(sys.argv[1]); np.save("big.npy", np.tile(a, (120, 1, 1)))' i100.npy
	otsu big.npy > m.npy
	run "$PY" -c 'import numpy as np; a = np.load("m.npy"); print(a.shape, a.dtype)'
	assert_output "(12000, 28, 28) uint8"
	# the same masks as the records a pipe gets
	otsu big.npy | cat > piped.npy
	run py 'f = open("piped.npy", "rb"); n = 0
while f.peek(1): fm.read_array(f); n += 1
print(n > 1, np.array_equal(np.load("m.npy"), load("piped.npy")))'
	assert_output "True True"
	# float32 and an empty stream too
	mix i100.npy i100.npy > f.npy
	run "$PY" -c 'import numpy as np; a = np.load("f.npy"); print(a.shape, a.dtype)'
	assert_output "(100, 28, 28) float32"
	pick -n 0 i100.npy > e.npy
	run "$PY" -c 'import numpy as np; a = np.load("e.npy"); print(a.shape, a.dtype)'
	assert_output "(0, 28, 28) uint8"
}

@test "numpy: appending (>>) and a file shared by two tools keep one record each" {
	pick -n 3 i100.npy > two.npy
	pick -n 4 i100.npy >> two.npy
	{ pick -n 2 i100.npy; pick -n 5 i100.npy; } > shared.npy
	for f in two.npy shared.npy; do
		run totsv "$f"
		assert_success
		assert_equal "${#lines[@]}" 7
	done
	run py 'f = open("shared.npy", "rb"); print([fm.read_array(f).shape[0] for _ in range(2)], f.read())'
	assert_output "[2, 5] b''"
}

@test "numpy: writers keep the sample shape they were given: predict of (N,1,28,28) is (N,1,28,28)" {
	pick -n 16 i100.npy > i16.npy
	otsu i16.npy > m16.npy
	train-unet -j 1 --filters 2 --depth 1 -e 1 -b 8 -o u.model i16.npy m16.npy 2> /dev/null
	py 'a = load("i16.npy"); np.save("chw.npy", a[:, None]); np.save("vec.npy", a.reshape(16, 784))'
	for opt in "" "-t 0.5"; do
		predict -j 1 $opt u.model chw.npy > p3.npy
		predict -j 1 $opt u.model i16.npy > p2.npy
		run "$PY" -c 'import numpy as np; a, b = np.load("p3.npy"), np.load("p2.npy")
print(a.shape, b.shape, np.array_equal(a[:, 0], b))'
		assert_output "(16, 1, 28, 28) (16, 28, 28) True"
	done
	# an MLP whose output has as many values keeps a vector a vector
	train-mlp -j 1 --layers 784,4,784 --activations relu,sigmoid -e 1 -b 8 -o m.model \
		vec.npy vec.npy 2> /dev/null
	predict -j 1 m.model vec.npy > pv.npy
	predict -j 1 m.model chw.npy > pc.npy
	run "$PY" -c 'import numpy as np; print(np.load("pv.npy").shape, np.load("pc.npy").shape)'
	assert_output "(16, 784) (16, 1, 28, 28)"
}
