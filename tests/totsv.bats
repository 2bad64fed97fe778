#!/usr/bin/env bats
# totsv: the text, read back by awk and numpy, gives numpy's numbers.
load helper
bats_require_minimum_version 1.5.0

setup() {
	T="$BATS_TEST_TMPDIR"
	"$PY" -c "
import numpy as np
r = np.random.default_rng(5)
np.save('$T/f.npy', r.normal(size=(7, 2, 3, 4)).astype(np.float32))"
}

# fixture_eval EXPR: print EXPR with the fixture images as `img` (N,784),
# labels as `lab`, and the float test stream as `f` (7, 24).
fixture_eval() {
	py 'img = load(sys.argv[1]).reshape(-1, 784); lab = load(sys.argv[2])
f = load(sys.argv[3]).reshape(7, -1)
print(eval(sys.argv[4]))' "$IMAGES" "$LABELS" "$T/f.npy" "$1"
}

@test "totsv: --help and --version" {
	run totsv --help
	assert_success
	assert_output --partial "Usage: totsv"
	run totsv --version
	assert_success
	assert_output --regexp "^totsv \(segpipe\) [0-9.]+$"
}

@test "totsv: uint8 images as integer rows; awk sums equal numpy's" {
	totsv "$IMAGES" > "$T/t.tsv"
	run awk -F '\t' 'NF != 784 { bad = 1 } /[^0-9\t]/ { bad = 1 }
		{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%d ", s }
		END { if (bad) print "BAD"; print NR }' "$T/t.tsv"
	assert_output "$(fixture_eval "' '.join(str(int(s)) for s in img.sum(1).astype(int)) + ' 500'")"
	# and field by field: element (sample 3, row 10, column 14) is column 10*28+14+1
	run awk -F '\t' 'NR == 4 { print $(10 * 28 + 14 + 1) }' "$T/t.tsv"
	assert_output "$(fixture_eval "img[3, 10 * 28 + 14]")"
}

@test "totsv: scalars one per line, --index and --header" {
	run sh -c "totsv '$LABELS' | head -5 | tr '\n' ' '"
	assert_output "$(fixture_eval "' '.join(map(str, lab[:5])) + ' '")"
	totsv -H --index "$LABELS" > "$T/t.tsv"
	run head -3 "$T/t.tsv"
	assert_line --index 0 "$(printf 'index\tvalue')"
	assert_line --index 1 "$(printf '0\t%s' "$(fixture_eval 'lab[0]')")"
	assert_line --index 2 "$(printf '1\t%s' "$(fixture_eval 'lab[1]')")"
	run awk -F '\t' 'NR > 1 && $1 != NR - 2 { print "BAD" } END { print NR }' "$T/t.tsv"
	assert_output 501
	run sh -c "totsv --header --index '$T/f.npy' | head -1"
	assert_output "$(printf 'index'; for i in $(seq 0 23); do printf '\tv%d' "$i"; done)"
}

@test "totsv: floats with %.6g and --precision (relative tolerance 1e-5, then exact)" {
	totsv "$T/f.npy" > "$T/t.tsv"
	run "$PY" -c "
import numpy as np
t = np.loadtxt('$T/t.tsv', delimiter='\t')
f = np.load('$T/f.npy').reshape(7, -1)
print(t.shape == (7, 24) and np.allclose(t, f, rtol=1e-5, atol=0))"
	assert_output True
	run awk -F '\t' '{ print $5 }' "$T/t.tsv"
	assert_line --index 2 "$(fixture_eval "'%.6g' % f[2, 4]")"
	totsv --precision 9 "$T/f.npy" > "$T/t.tsv"
	run "$PY" -c "
import numpy as np
t = np.loadtxt('$T/t.tsv', delimiter='\t', dtype=np.float32)
print(np.array_equal(t, np.load('$T/f.npy').reshape(7, -1)))"
	assert_output True
}

@test "totsv: bad input" {
	run -1 totsv "$T/missing"
	assert_output --regexp '^totsv: cannot open'
	assert_equal "${#lines[@]}" 1
	printf 'P5\n4 4\n255\nab' > "$T/short.pgm"
	run -1 totsv "$T/short.pgm"
	assert_output --regexp '^totsv: '
	assert_equal "${#lines[@]}" 1
	: > "$T/empty"
	run -1 totsv "$T/empty"
	assert_output --regexp '^totsv: empty or unrecognised input'
	assert_equal "${#lines[@]}" 1
	for args in "-p 0" "-p 18" "-p x" "a b" "--bogus"; do
		run -2 totsv $args
		assert_line --index 0 --regexp '^totsv: '
	done
}

@test "totsv: --precision on a uint8 stream is a usage error, not ignored" {
	run -2 totsv --precision 3 "$IMAGES"
	assert_line --index 0 'totsv: --precision does nothing on a uint8 stream (its values print as integers)'
	refute_output --regexp '^[0-9]'
	run -0 totsv --precision 3 "$T/f.npy"
}
