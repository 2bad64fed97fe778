#!/usr/bin/env bats
# What the stream reader takes, and what it refuses: the npy header dict
# parsed as numpy parses it (tests/npy_dicts.py compares the two on
# headers written by hand), and gzip input as a sequence of members with
# nothing else after them (segpipe-stream(5)).
load helper

setup() {
	cd "$BATS_TEST_TMPDIR"
	"$PY" -c "import numpy as np; np.save('a.npy', np.arange(24, dtype=np.uint8).reshape(4, 2, 3))
np.save('b.npy', np.arange(24, 36, dtype=np.uint8).reshape(2, 2, 3))"
	totsv a.npy > a.tsv
	{ totsv a.npy; totsv b.npy; } > ab.tsv
}

# refused FILE REGEX: totsv exits 1 with one line "totsv: MESSAGE (FILE, sample K)"
refused() {
	run bash -c 'totsv "$1" 2>&1 >/dev/null' _ "$1"
	assert_equal "$status" 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^totsv: $2 \\($1, sample [0-9]+\\)\$"
}

@test "stream_strict: npy header dicts are read as numpy reads them, or refused as numpy refuses them" {
	run "$PY" "$ROOT/tests/npy_dicts.py" "$ROOT/bin"
	assert_success
	assert_output --regexp ' 0 disagreements$'
}

@test "stream_strict: a key's value that spells another key is not that key" {
	# the value of a fourth key holds "'descr': '|u1'": numpy refuses the extra key
	"$PY" - <<'PYEOF'
import struct
def save(name, d, data):
    h = d.encode() + b' ' * ((-(10 + len(d) + 1)) % 64) + b'\n'
    open(name, 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + data)
save('spell.npy', "{'x': \"'descr': '|u1'\", 'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)}", bytes(8))
save('spell2.npy', "{'descr': \"'descr': '|u1'\", 'fortran_order': False, 'shape': (1, 2)}", bytes(8))
save('spell3.npy', "{'shape': (1, 2), 'fortran_order': False, 'descr': '<f4', 'y': \"'shape': (1, 8)\"}", bytes(8))
PYEOF
	refused spell.npy 'npy header has a key other than descr, fortran_order and shape'
	refused spell2.npy "unsupported npy dtype ''descr': '\\|u1''"
	refused spell3.npy 'npy header has a key other than descr, fortran_order and shape'
}

@test "stream_strict: a header length cut short of its dict is refused, not read as pixels" {
	"$PY" - <<'PYEOF'
import struct
d = b"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }"
h = d + b' ' * ((-(10 + len(d) + 1)) % 64) + b'\n'
for cut in (1, 2, 5, 10, 20, 30):   # the length field stops 1..30 bytes before the dict's end
    n = len(d) - cut
    open('cut%d.npy' % cut, 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', n) + h + bytes(6))
PYEOF
	for cut in 1 2 5 10 20 30; do
		refused cut$cut.npy '(malformed npy header|bad npy shape).*'
	done
}

@test "stream_strict: concatenated gzip members are one stream" {
	gzip -c a.npy > m.gz
	gzip -c b.npy >> m.gz
	run totsv m.gz
	assert_success
	assert_output "$(cat ab.tsv)"
	# a member boundary inside an array, and an empty member between
	head -c 100 a.npy | gzip -c > split.gz
	: | gzip -c >> split.gz
	tail -c +101 a.npy | gzip -c >> split.gz
	run totsv - < split.gz
	assert_success
	assert_output "$(cat a.tsv)"
}

@test "stream_strict: what follows a gzip member is another member or an error" {
	gzip -c a.npy > g.gz
	{ cat g.gz; printf 'garbage'; } > junk.gz
	refused junk.gz 'junk after the gzip data'
	{ cat g.gz; cat b.npy; } > plain.gz
	refused plain.gz 'junk after the gzip data'
	{ cat g.gz; printf '\037'; } > one.gz
	refused one.gz 'junk after the gzip data'
	{ cat g.gz; head -c 8 /dev/zero; } > zeros.gz
	refused zeros.gz 'junk after the gzip data'
	# a second member that is cut short, or broken
	{ cat g.gz; head -c 20 g.gz; } > cut2.gz
	refused cut2.gz 'truncated gzip data: unexpected end of file'
	{ cat g.gz; printf '\037\213garbage garbage'; } > bad2.gz
	refused bad2.gz 'bad gzip data: .*'
	# through a pipe too
	run bash -c 'cat "$1" | totsv 2>&1 >/dev/null' _ plain.gz
	assert_equal "$status" 1
	assert_output --regexp '^totsv: junk after the gzip data \(stdin, sample [0-9]+\)$'
}
