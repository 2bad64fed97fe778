#!/usr/bin/env bats
# The stream layer (lib/io/stream.c) seen through otsu, which reads any stream
# and writes masks (-t: one threshold line per sample read).
# See man/man5/segpipe-stream.5 for the format these tests pin down.
load helper

# N images of the MNIST fixture, written in every format and dtype the
# reader accepts; written once per file into $BATS_FILE_TMPDIR.
N=60

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	"$PY" - "$IMAGES" "$N" <<'PYEOF'
import sys, gzip, struct, numpy as np
from numpy.lib import format as fm
raw = gzip.open(sys.argv[1]).read()
n = int(sys.argv[2])
a = np.frombuffer(raw[16:16 + n * 784], np.uint8).reshape(n, 28, 28)
np.save('u1.npy', a)
np.save('f4.npy', (a / 255).astype('<f4'))
np.save('f8.npy', (a / 255).astype('<f8'))
np.save('be_f4.npy', (a / 255).astype('>f4'))
np.save('be_f8.npy', (a / 255).astype('>f8'))
np.save('chw.npy', a.reshape(n, 1, 28, 28))
for v in ((1, 0), (2, 0), (3, 0)):
    with open('v%d.npy' % v[0], 'wb') as f:
        fm.write_array(f, a, version=v)
np.save('part1.npy', a[:7])
np.save('part2.npy', (a[7:30] / 255).astype('<f4'))
np.save('part3.npy', a[30:])
with open('u1.idx', 'wb') as f:
    f.write(b'\0\0\x08\x03' + struct.pack('>3I', n, 28, 28) + a.tobytes())
with open('u1.pgm', 'wb') as f:
    for im in a:
        f.write(b'P5\n28 28\n255\n' + im.tobytes())
for i, im in enumerate(a):
    with open('one%03d.pgm' % i, 'wb') as f:
        f.write(b'P5\n28 28\n255\n' + im.tobytes())
# 16-bit PGM: value/maxval with maxval 1000 is the same intensity
with open('u16.pgm', 'wb') as f:
    for im in a:
        v = np.rint(im.astype(np.float64) * 1000 / 255).astype('>u2')
        f.write(b'P5\n28 28\n1000\n' + v.tobytes())
# many samples, for the record count and the broken pipe
np.save('big.npy', np.tile(a, (200, 1, 1)))
PYEOF
	for f in u1.npy u1.idx u1.pgm; do gzip -c "$f" > "$f.gz"; done
	for f in one*.pgm; do pnmtopng "$f" | pngtopam | pamtopnm; done > png.pgm
	rm -f one*.pgm
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# fails_with FILE REGEX: exit 1, quickly, in bounded memory, with exactly
# one stderr line "otsu: MESSAGE (FILE, sample K)" where MESSAGE matches REGEX.
fails_with() {
	run bash -c "$MEMLIMIT"'; timeout 5 otsu "$1" 2>&1 >/dev/null' _ "$1"
	assert_equal "$status" 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^otsu: $2 \\($1, sample [0-9]+\\)\$"
}

# npy FILE DESCR SHAPE [FORTRAN [VERSION]]: a hand-made npy header, then
# the bytes of stdin as data.
npy() {
	"$PY" -c "$NPY_WRITER" "$@"
}
NPY_WRITER='
import sys, struct
name, descr, shape = sys.argv[1:4]
fortran = sys.argv[4] if len(sys.argv) > 4 else "False"
major = int(sys.argv[5]) if len(sys.argv) > 5 else 1
h = "{\x27descr\x27: \x27%s\x27, \x27fortran_order\x27: %s, \x27shape\x27: %s, }" % (descr, fortran, shape)
pre = 10 if major == 1 else 12
h = (h + " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n").encode()
size = struct.pack("<H", len(h)) if major == 1 else struct.pack("<I", len(h))
with open(name, "wb") as f:
    f.write(b"\x93NUMPY" + bytes([major, 0]) + size + h + sys.stdin.buffer.read())
'

# pixels K: K bytes of MNIST pixels
pixels() {
	tail -c +14 u1.pgm | head -c "$1"
}

# ---------- numpy -> otsu ----------

@test "stream: u1 (N,H,W) from numpy.save: one threshold per sample, masks of the right shape" {
	otsu --thresholds u1.npy > t.txt
	run wc -l < t.txt
	assert_output "$N"
	otsu u1.npy > m.npy
	run "$PY" -c "
import numpy as np
a = np.load('u1.npy'); m = np.load('m.npy')
t = np.loadtxt('t.txt', dtype=int)
print(m.shape, m.dtype, bool((m == (a > t[:, None, None])).all()))"
	assert_output "($N, 28, 28) uint8 True"
}

@test "stream: f4, f8, >f4, >f8 intensities (u1/255) give the same mask bytes as u1" {
	otsu u1.npy > ref
	for f in f4 f8 be_f4 be_f8; do
		otsu $f.npy > $f.out
		cmp ref $f.out
	done
}

@test "stream: (N,1,H,W) is a (C,H,W) sample with C=1: same thresholds, shape kept" {
	otsu --thresholds u1.npy > ref
	otsu --thresholds chw.npy > out
	cmp ref out
	run npy_eval <(otsu chw.npy) 'a.shape'
	assert_output "($N, 1, 28, 28)"
}

@test "stream: npy format versions 1.0, 2.0 and 3.0 (write_array version=) read alike" {
	otsu u1.npy > ref
	head -c 8 v2.npy | od -An -tx1 | grep -q '93 4e 55 4d 50 59 02 00'
	head -c 8 v3.npy | od -An -tx1 | grep -q '93 4e 55 4d 50 59 03 00'
	for v in 1 2 3; do
		otsu v$v.npy > v$v.out
		cmp ref v$v.out
	done
}

@test "stream: arrays joined with cat are one stream, even of mixed dtypes" {
	otsu --thresholds u1.npy > ref
	cat part1.npy part2.npy part3.npy > joined.npy
	otsu --thresholds joined.npy > out
	cmp ref out
}

@test "stream: gzip is detected by content, whatever the file name" {
	otsu u1.npy > ref
	gzip -c u1.npy > plain.npy
	otsu u1.npy.gz > a.out
	otsu plain.npy > b.out
	cmp ref a.out
	cmp ref b.out
}

@test "stream: every integer and bool dtype, both byte orders, decodes its values" {
	# Integer and bool values are read as they are (otsu would refuse
	# values outside 0..1 as intensities, so totsv prints them): each line
	# must be numpy's values. Negative values in big-endian files catch a
	# missing byte swap.
	"$PY" - <<'PYEOF'
import numpy as np
r = np.random.RandomState(7)
v = r.randint(-300, 301, (5, 4, 6))
v[:, 0, 0], v[:, 0, 1] = 0, 5      # both classes in every image
for d in ['i1', 'b1', '<u2', '<i2', '<u4', '<i4', '<u8', '<i8',
          '>u2', '>i2', '>u4', '>i4', '>u8', '>i8']:
    x = v.copy()
    if d[-2] in 'ub':
        x = abs(x)
    if d == 'i1':
        x = np.clip(x, -128, 127)
    x = x.astype(d)
    name = d.replace('>', 'be').replace('<', 'le')
    np.save('d_%s.npy' % name, x)
    with open('w_%s.txt' % name, 'w') as f:
        for s in x.reshape(5, -1):
            f.write('\t'.join('%d' % e for e in s.astype(np.int64)) + '\n')
PYEOF
	n=0
	for f in d_*.npy; do
		totsv "$f" > "${f%.npy}.out"
		w=${f#d_}
		cmp "${f%.npy}.out" "w_${w%.npy}.txt"
		n=$((n + 1))
	done
	assert_equal "$n" 14
}

@test "stream: the same data as npy, IDX, PGM, 16-bit PGM and pnmtopng round trip give the same bytes" {
	otsu u1.npy > ref
	for f in u1.idx u1.idx.gz u1.pgm u1.pgm.gz u16.pgm png.pgm; do
		otsu "$f" > "$f.out"
		cmp ref "$f.out"
	done
	# and the fixture itself, read straight from its gzipped IDX file
	otsu --thresholds "$IMAGES" > all.txt
	run wc -l < all.txt
	assert_output 500
	otsu --thresholds u1.npy > t.txt
	head -n "$N" all.txt | cmp - t.txt
}

# ---------- otsu -> numpy ----------

@test "stream: numpy reads our output with read_array in a loop: records of many samples" {
	# a pipe gets records (a regular file one record: tests/numpy.bats)
	otsu big.npy | cat > big.out
	# every record a (K,28,28) uint8 array; 2 records at least, and far
	# fewer records than samples
	run "$PY" -c "
import numpy as np
from numpy.lib import format as fm
f = open('big.out', 'rb'); size = len(f.read()); f.seek(0); parts = []
while f.tell() < size:
    parts.append(fm.read_array(f))
print(1 < len(parts) <= $((200 * N)) // 1000, sum(len(p) for p in parts),
      all(p.shape[1:] == (28, 28) and p.dtype == np.uint8 for p in parts))"
	assert_output "True $((200 * N)) True"
	# the masks of the 200 copies are the masks of the original, 200 times
	otsu u1.npy > one.out
	run "$PY" -c "
import numpy as np
from numpy.lib import format as fm
def load(p):
    f = open(p, 'rb'); size = len(f.read()); f.seek(0); parts = []
    while f.tell() < size:
        parts.append(fm.read_array(f))
    return np.concatenate(parts)
print(bool((load('big.out') == np.tile(load('one.out'), (200, 1, 1))).all()))"
	assert_output "True"
}

@test "stream: -P writes a PGM stream that netpbm and the reader take back" {
	otsu -P u1.npy > m.pgm
	run pamfile -allimages m.pgm
	assert_line -n 0 --partial "PGM raw, 28 by 28  maxval 255"
	assert_equal "${#lines[@]}" "$N"
	# 0/255 PGM masks read back as intensities 0/1: the same masks again
	otsu u1.npy > ref
	otsu m.pgm > again
	cmp ref again
}

# ---------- stdin ----------

@test "stream: stdin through a pipe, with no operand and with -, for every format" {
	otsu --thresholds u1.npy > ref
	for f in u1.npy u1.npy.gz u1.idx u1.idx.gz u1.pgm u1.pgm.gz v3.npy be_f4.npy; do
		cat "$f" | otsu --thresholds > a.out
		cmp ref a.out
		cat "$f" | otsu --thresholds - > b.out
		cmp ref b.out
	done
	cat part1.npy part2.npy part3.npy | gzip | otsu --thresholds - > c.out
	cmp ref c.out
}

@test "stream: an error on stdin names stdin" {
	run bash -c 'printf "garbage" | otsu 2>&1 >/dev/null'
	assert_equal "$status" 1
	assert_output "otsu: not a tensor stream, netpbm or IDX file (segpipe reads tensor streams (.npy), .npz archives by name, netpbm (PBM, PGM, PPM, PAM) and IDX files, plain or gzip) (stdin, sample 0)"
}

# ---------- output errors ----------

@test "stream: a broken pipe ends quietly (masks, --thresholds and -P)" {
	for opt in "" --thresholds -P; do
		run bash -c "otsu $opt < big.npy 2>err | head -c 100 | wc -c; cat err"
		assert_output "100"
	done
}

@test "stream: writing to /dev/full fails with exit 1 and one line" {
	[ -w /dev/full ] || skip "no /dev/full"
	for opt in "" --thresholds; do
		run bash -c "otsu $opt u1.npy 2>&1 >/dev/full"
		assert_equal "$status" 1
		assert_equal "${#lines[@]}" 1
		assert_output "otsu: write error: No space left on device"
	done
	# -P writes through libnetpbm, whose own message says the same
	run bash -c "otsu -P u1.npy 2>&1 >/dev/full"
	assert_equal "$status" 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp '^otsu: .*(write error|failed to write).*No space left on device'
}

# ---------- hostile input: exit 1, one line naming the file ----------

@test "hostile: garbage (bad magic)" {
	printf 'hello, not an array\n' > garbage
	fails_with garbage 'not a tensor stream, netpbm or IDX file \(segpipe reads tensor streams \(\.npy\), \.npz archives by name, netpbm \(PBM, PGM, PPM, PAM\) and IDX files, plain or gzip\)'
}

@test "hostile: empty input" {
	: > empty
	fails_with empty 'empty or unrecognised input'
	run bash -c 'otsu < /dev/null 2>&1 >/dev/null'
	assert_equal "$status" 1
	assert_output "otsu: empty or unrecognised input (stdin, sample 0)"
}

@test "hostile: npy header says 1000 samples, 3 arrive: truncated data at sample 3" {
	pixels 2352 | npy lie.npy '|u1' '(1000, 28, 28)'
	fails_with lie.npy 'truncated data: 0 of 784 bytes'
	assert_output --partial "sample 3)"
}

@test "hostile: shape product overflowing 64 bits" {
	pixels 784 | npy ovf.npy '|u1' '(2, 4294967296, 4294967296)'
	fails_with ovf.npy 'npy sample shape 4294967296x4294967296 is empty or too large'
	pixels 784 | npy ovf2.npy '|u1' '(99999999999999999999, 28, 28)'
	fails_with ovf2.npy 'bad npy shape'
	pixels 784 | npy ovf3.npy '<f8' '(1, 4611686018427387904, 4611686018427387904, 2)'
	fails_with ovf3.npy 'npy sample shape .* is empty or too large'
}

@test "hostile: negative dimension" {
	pixels 784 | npy neg.npy '|u1' '(-1, 28, 28)'
	fails_with neg.npy 'bad npy shape'
	pixels 784 | npy neg2.npy '|u1' '(1, -28, 28)'
	fails_with neg2.npy 'bad npy shape'
}

@test "hostile: non-numeric dimension" {
	pixels 784 | npy nan.npy '|u1' "(1, 'a', 28)"
	fails_with nan.npy 'bad npy shape'
}

@test "hostile: complex dtype <c8" {
	"$PY" -c "import numpy as np; np.save('c8.npy', np.zeros((2, 4, 4), '<c8'))"
	fails_with c8.npy "unsupported npy dtype '<c8'"
}

@test "hostile: object dtype |O" {
	"$PY" -c "import numpy as np; np.save('obj.npy', np.array([[1, 'a']], dtype=object))"
	fails_with obj.npy "unsupported npy dtype '\\|O'"
}

@test "hostile: Fortran order" {
	"$PY" -c "import numpy as np; np.save('fo.npy', np.asfortranarray(np.zeros((2, 4, 4), np.uint8)))"
	grep -q "'fortran_order': True" fo.npy
	fails_with fo.npy 'npy array in Fortran order is not supported'
}

@test "hostile: npy format version 4.0" {
	pixels 784 | npy v4.npy '|u1' '(1, 28, 28)' False 4
	fails_with v4.npy 'npy format version 4\.0 is not supported \(1\.0 to 3\.0\)'
}

@test "hostile: npy header longer than the file" {
	printf '\223NUMPY\001\000\000\020{'"'"'descr'"'"': ' > hlong.npy
	fails_with hlong.npy 'truncated npy header: 10 of 4096 bytes'
}

@test "hostile: junk after the last array" {
	{ cat u1.npy; printf 'junk'; } > junk.npy
	fails_with junk.npy 'junk after the last array'
	assert_output --partial "sample $N)"
	{ cat u1.npy; printf '\n'; } > nl.npy
	fails_with nl.npy 'junk after the last array'
}

@test "hostile: a second array with another sample shape" {
	"$PY" -c "import numpy as np; np.save('s27.npy', np.zeros((1, 27, 28), np.uint8))"
	cat u1.npy s27.npy > shape2.npy
	fails_with shape2.npy 'sample shape changes from 28x28 to 27x28'
	cat u1.npy chw.npy > shape3.npy
	fails_with shape3.npy 'sample shape changes from 28x28 to 1x28x28'
}

@test "hostile: a 5-d array" {
	"$PY" -c "import numpy as np; np.save('d5.npy', np.zeros((1, 1, 1, 2, 2), np.uint8))"
	fails_with d5.npy 'npy sample has 4 dimensions; at most 3 are supported'
}

@test "hostile: a 0-d array" {
	"$PY" -c "import numpy as np; np.save('d0.npy', np.float32(1))"
	fails_with d0.npy 'npy array has no sample axis \(0-d array\)'
}

@test "hostile: truncated gzip" {
	head -c 2000 u1.npy.gz > tr.gz
	fails_with tr.gz 'truncated gzip data: .*unexpected end of file'
	# only the trailer missing: every sample arrives, then the error
	head -c -4 u1.npy.gz > tr2.gz
	fails_with tr2.gz 'truncated gzip data: .*unexpected end of file'
	run bash -c 'cat tr.gz | otsu 2>&1 >/dev/null'
	assert_equal "$status" 1
	assert_output --regexp '^otsu: truncated gzip data: .*unexpected end of file \(stdin, sample [0-9]+\)$'
}

@test "hostile: garbage after a gzip magic" {
	printf '\037\213garbage garbage garbage garbage' > gg.gz
	fails_with gg.gz 'bad gzip data: .*'
}

@test "hostile: PGM with maxval 0" {
	{ printf 'P5\n4 4\n0\n'; head -c 16 /dev/zero; } > max0.pgm
	fails_with max0.pgm 'bad netpbm image: .*maxval.* zero.*'
}

@test "hostile: PGM of width 0" {
	{ printf 'P5\n0 4\n255\n'; head -c 16 /dev/zero; } > w0.pgm
	fails_with w0.pgm 'bad netpbm image: Width is zero.*'
}

@test "hostile: PGM 100000x100000 with few bytes fails fast in 1 GB of address space" {
	{ printf 'P5\n100000 100000\n255\n'; head -c 100 /dev/zero; } > huge.pgm
	fails_with huge.pgm 'netpbm image of 100000x100000x1 is empty or too large'
	# the second image of a stream too
	{ cat u1.pgm; printf 'P5\n100000 100000\n255\n'; } > huge2.pgm
	fails_with huge2.pgm 'netpbm image of 100000x100000x1 is empty or too large'
}

@test "hostile: PGM truncated in the pixels" {
	head -c 500 u1.pgm > trunc.pgm
	fails_with trunc.pgm 'bad netpbm image: .*'
}

@test "hostile: IDX with 5 dimensions" {
	{ printf '\0\0\010\005'; printf '\0\0\0\001%.0s' 1 2 3 4 5; printf 'x'; } > d5.idx
	fails_with d5.idx 'IDX file with 5 dimensions; 1 to 4 are supported'
}

@test "hostile: IDX truncated" {
	head -c 5000 u1.idx > tr.idx
	fails_with tr.idx 'truncated data: 280 of 784 bytes'
	assert_output --partial "sample 6)"
}

@test "hostile: IDX with an unknown type code" {
	{ printf '\0\0\007\001\0\0\0\001'; printf 'x'; } > t7.idx
	fails_with t7.idx 'unknown IDX data type 0x07'
}

@test "hostile: junk after the IDX data" {
	{ cat u1.idx; printf 'x'; } > junk.idx
	fails_with junk.idx 'junk after the IDX data'
}

@test "hostile: billions of samples claimed, no data: no hang, no allocation" {
	: | npy bn.npy '|u1' '(4000000000, 28, 28)'
	fails_with bn.npy 'truncated data: 0 of 784 bytes'
	: | npy bn8.npy '<f8' '(9000000000000000000, 2048, 2048)'
	fails_with bn8.npy 'truncated data: 0 of 33554432 bytes'
	printf '\0\0\010\003\377\377\377\377\0\0\0\034\0\0\0\034' > bn.idx
	fails_with bn.idx 'truncated data: 0 of 784 bytes'
	# the same through a pipe, gzipped
	run bash -c "$MEMLIMIT"'; gzip -c bn8.npy | timeout 5 otsu 2>&1 >/dev/null'
	assert_equal "$status" 1
	assert_output "otsu: truncated data: 0 of 33554432 bytes (stdin, sample 0)"
}
