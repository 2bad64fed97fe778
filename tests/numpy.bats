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

# zip64_npz OUT NPY...: a stored archive of the .npy files written by hand
# in the zip64 form (the central directory's sizes and offsets 0xffffffff,
# their values in zip64 extra fields, a zip64 end record and locator), as
# a writer of archives over 4 GB makes it
zip64_npz() {
	py - "$@" <<'PYEOF'
import struct
out, files = sys.argv[1], sys.argv[2:]
body, cd = b'', b''
for name in files:
    data = open(name, 'rb').read(); crc = zlib.crc32(data); n = name.encode()
    x64 = struct.pack('<HHQQ', 1, 16, len(data), len(data))
    local = struct.pack('<4sHHHHHIIIHH', b'PK\3\4', 45, 0, 0, 0, 0, crc,
                        0xffffffff, 0xffffffff, len(n), len(x64)) + n + x64
    cx = struct.pack('<HHQQQ', 1, 24, len(data), len(data), len(body))
    cd += struct.pack('<4sHHHHHHIIIHHHHHII', b'PK\1\2', 45, 45, 0, 0, 0, 0, crc,
                      0xffffffff, 0xffffffff, len(n), len(cx), 0, 0, 0, 0, 0xffffffff) + n + cx
    body += local + data
z64 = struct.pack('<4sQHHIIQQQQ', b'PK\6\6', 44, 45, 45, 0, 0, len(files), len(files),
                  len(cd), len(body))
loc = struct.pack('<4sIQI', b'PK\6\7', 0, len(body) + len(cd), 1)
eocd = struct.pack('<4sHHHHIIH', b'PK\5\6', 0, 0, 0xffff, 0xffff, 0xffffffff, 0xffffffff, 0)
open(out, 'wb').write(body + cd + z64 + loc + eocd)
PYEOF
}

@test "numpy: .npz archives are read by every reader: FILE.npz its first array, FILE.npz:NAME one member" {
	py - <<'PYEOF'
a = load('i100.npy')[:10]
m = (a > 100).astype(np.uint8)
np.savez('s.npz', images=a, masks=m)                        # stored
np.savez_compressed('c.npz', images=a, probs=(a / 255).astype(np.float32))   # deflated
np.savez('pos.npz', a, m)                                    # arr_0, arr_1
np.save('a.npy', a); np.save('m.npy', m); np.save('p.npy', (a / 255).astype(np.float32))
PYEOF
	otsu --thresholds a.npy > ref
	for f in s.npz s.npz:images s.npz:images.npy c.npz c.npz:images pos.npz pos.npz:arr_0 \
	         c.npz:probs; do
		otsu --thresholds "$f" > out
		cmp ref out
	done
	run totsv s.npz:masks
	assert_output "$(totsv m.npy)"
	# the trainers' datasets, and iou's two operands, from one archive
	run iou s.npz:masks s.npz:masks
	assert_line -n 0 'iou	1'
	train-unet -j 1 --filters 2 --depth 1 -e 1 -b 5 -o z.model c.npz s.npz:masks 2> /dev/null
	train-unet -j 1 --filters 2 --depth 1 -e 1 -b 5 -o n.model a.npy m.npy 2> /dev/null
	cmp z.model n.model
	# zip64, as a large archive has it
	zip64_npz z64.npz a.npy m.npy
	otsu --thresholds z64.npz > out
	cmp ref out
	run totsv z64.npz:m
	assert_output "$(totsv m.npy)"
}

@test "numpy: a bad .npz is one line naming it: missing member, pipe, corrupt, cut, lying sizes" {
	py 'a = load("i100.npy")[:10]; np.savez("s.npz", images=a, masks=a > 9); np.savez_compressed("c.npz", images=a)'
	# npzfails FILE REGEX: exit 1, one line "otsu: ... REGEX ... (FILE, sample 0)"
	npzfails() {
		run bash -c "$MEMLIMIT"'; timeout 5 otsu --thresholds "$1" 2>&1 >/dev/null' _ "$1"
		assert_equal "$status" 1
		assert_equal "${#lines[@]}" 1
		assert_output --regexp "^otsu: .*$2.* \\($1, sample [0-9]+\\)\$"
	}
	npzfails s.npz:nope "no member 'nope' in the zip archive \\(members: images, masks\\)"
	run bash -c 'otsu --thresholds < s.npz 2>&1'
	assert_failure 1
	assert_output 'otsu: a zip archive (.npz) on standard input: give its file name, FILE.npz or FILE.npz:NAME (stdin, sample 0)'
	py - <<'PYEOF'
d = open('s.npz', 'rb').read(); c = open('c.npz', 'rb').read()
i = d.index(b'\x93NUMPY') + 200
open('flip.npz', 'wb').write(d[:i] + bytes([d[i] ^ 1]) + d[i + 1:])      # a data byte
j = c.index(b'PK\1\2')
open('cflip.npz', 'wb').write(c[:60] + bytes([c[60] ^ 0x55]) + c[61:])   # deflate data
open('cut.npz', 'wb').write(d[:len(d) // 2])                              # no directory
k = d.index(b'PK\1\2')                                                    # csize: 2^31
open('lie.npz', 'wb').write(d[:k + 20] + (2**31).to_bytes(4, 'little') + d[k + 24:])
e = d.rindex(b'PK\5\6')                                                   # directory offset
open('lie2.npz', 'wb').write(d[:e + 16] + (2**32 - 2).to_bytes(4, 'little') + d[e + 20:])
u = d.index(b'PK\1\2')                                                    # usize: smaller
open('short.npz', 'wb').write(d[:u + 24] + (100).to_bytes(4, 'little') + d[u + 28:])
v = c.index(b'PK\1\2')                                                    # deflated, usize smaller
open('clie.npz', 'wb').write(c[:v + 24] + (100).to_bytes(4, 'little') + c[v + 28:])
PYEOF
	npzfails clie.npz 'zip member longer than its header says'
	npzfails flip.npz 'bad CRC-32 of the zip member'
	npzfails cflip.npz '(bad zip member|bad CRC-32|truncated zip member|zip member longer)'
	npzfails cut.npz 'not a zip archive: no end of central directory'
	npzfails lie.npz 'member images\.npy lies outside the file'
	npzfails lie2.npz 'the central directory lies outside the file'
	npzfails short.npz 'member images\.npy lies outside the file|zip member longer than its header says'
	# a name that exists as a file is that file, colon and all
	cp "$IMAGES" 'odd:name'
	run otsu --thresholds 'odd:name'
	assert_success
}

@test "numpy: the README's numpy round trip runs as written" {
	sed -n '/^<!-- numpy round trip/,/^<!-- end numpy round trip/p' "$ROOT/README.md" |
		sed '1,2d;$d' | sed '$d' > trip.sh
	[ "$(grep -c . trip.sh)" -ge 6 ]
	mkdir -p trip
	run bash -c 'cd trip && PATH="$1/bin:/usr/bin:$PATH" PYTHONPATH="$1/python" bash -e ../trip.sh' _ "$ROOT"
	assert_success
	# the comments under the commands are what they print
	assert_output "$(sed -n 's/^# //p' trip.sh)"
}
