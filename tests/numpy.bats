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
