#!/usr/bin/env bats
# pick: checked against numpy slicing of the MNIST fixture (exact: integers).
load helper
bats_require_minimum_version 1.5.0

setup() {
	T="$BATS_TEST_TMPDIR"
	# numbers 0..499 as an int32 stream: a sample's value is its index
	"$PY" -c "import numpy as np; np.save('$T/seq.npy', np.arange(500, dtype=np.int32))"
}

@test "pick: --help and --version" {
	run pick --help
	assert_success
	assert_output --partial "Usage: pick"
	run pick --version
	assert_success
	assert_output --regexp "^pick \(segpipe\) [0-9.]+$"
}

@test "pick: --first N is img[:N], uint8 kept" {
	pick --first 10 "$IMAGES" > "$T/a.npy"
	run pyck "a.dtype == np.uint8 and a.shape == (10, 28, 28) and np.array_equal(a, img[:10])" "$T/a.npy"
	assert_output True
}

@test "pick: --range follows Python slices" {
	for r in 5:12 490: :3 -5: -20:-10 10:5 480:9999 9999:; do
		pick --range "$r" "$IMAGES" > "$T/a.npy"
		py=$(echo "$r" | sed 's/^/img[/; s/$/]/')
		run pyck "len(a) == len($py) and (len(a) == 0 or np.array_equal(a, $py))" "$T/a.npy"
		assert_output True
	done
}

@test "pick: an empty selection writes an empty stream (0 samples of the shape)" {
	pick --range 10:5 "$IMAGES" > "$T/a.npy"
	run npy_eval "$T/a.npy" 'a.shape'
	assert_output "(0, 28, 28)"
}

@test "pick: --labels --keep keeps those digits, --labels-out their labels" {
	pick -l "$LABELS" -k 5,7 -L "$T/l.npy" "$IMAGES" > "$T/a.npy"
	run pyck "np.array_equal(a, img[np.isin(lab, [5, 7])]) and b.dtype == np.uint8 and np.array_equal(b, lab[np.isin(lab, [5, 7])])" "$T/a.npy" "$T/l.npy"
	assert_output True
}

@test "pick: order is labels, shuffle, range, shard" {
	pick --shard 1/2 --range 2:8 -l "$LABELS" -k 5 "$IMAGES" > "$T/a.npy"
	run pyck "np.array_equal(a, img[lab == 5][2:8][1::2])" "$T/a.npy"
	assert_output True
	# shuffled: the range applies to the shuffled order, before the shard
	pick -R -s 4 -l "$LABELS" -k 3 "$IMAGES" > "$T/all.npy"
	pick -R -s 4 -l "$LABELS" -k 3 -r 1:9 -d 0/3 "$IMAGES" > "$T/a.npy"
	run pyck "np.array_equal(b, a[1:9][0::3])" "$T/all.npy" "$T/a.npy"
	assert_output True
}

@test "pick: --shuffle is a seeded permutation" {
	pick -R "$T/seq.npy" > "$T/a.npy"
	pick -R "$T/seq.npy" > "$T/b.npy"
	cmp "$T/a.npy" "$T/b.npy"
	pick -R -s 7 "$T/seq.npy" > "$T/c.npy"
	pick --shuffle --seed 7 "$T/seq.npy" > "$T/d.npy"
	cmp "$T/c.npy" "$T/d.npy"
	! cmp -s "$T/a.npy" "$T/c.npy"
	run pyck "a.dtype == np.float32 and sorted(a.tolist()) == list(range(500)) and not np.array_equal(a, np.arange(500))" "$T/a.npy"
	assert_output True
}

@test "pick: --shuffle keeps images and --labels-out in step" {
	pick -R -s 9 -l "$LABELS" -k 0,1,2,3,4,5,6,7,8,9 -L "$T/l.npy" "$IMAGES" > "$T/a.npy"
	run pyck "sorted(x.tobytes() for x in a) == sorted(x.tobytes() for x in img) and all(lab[[j for j in range(500) if np.array_equal(img[j], a[i])]].tolist().count(b[i]) > 0 for i in range(0, 500, 7)) and not np.array_equal(a, img)" "$T/a.npy" "$T/l.npy"
	assert_output True
}

@test "pick: the shards of a stream partition it" {
	for i in 0 1 2; do pick --shard "$i/3" "$T/seq.npy" > "$T/s$i.npy"; done
	run pyck "np.array_equal(a, np.arange(0, 500, 3)) and np.array_equal(b, np.arange(1, 500, 3)) and np.array_equal(c, np.arange(2, 500, 3)) and sorted(np.concatenate([a, b, c]).tolist()) == list(range(500))" "$T/s0.npy" "$T/s1.npy" "$T/s2.npy"
	assert_output True
	# shards of a shuffled stream, same seed: still disjoint and complete
	for i in 0 1 2 3; do pick -R -s 5 -d "$i/4" "$T/seq.npy" > "$T/s$i.npy"; done
	run pyck "sorted(np.concatenate([a, b, c, d]).tolist()) == list(range(500))" "$T/s0.npy" "$T/s1.npy" "$T/s2.npy" "$T/s3.npy"
	assert_output True
}

@test "pick: float streams stay float32, PGM output reads in netpbm" {
	"$PY" -c "import numpy as np; np.save('$T/f.npy', np.linspace(0, 1, 3 * 4 * 5, dtype=np.float64).reshape(3, 4, 5))"
	pick -r 1: "$T/f.npy" > "$T/a.npy"
	run pyck "a.dtype == np.float32 and np.array_equal(a, np.linspace(0, 1, 60).reshape(3, 4, 5)[1:].astype(np.float32))" "$T/a.npy"
	assert_output True
	pick -n 3 -P "$IMAGES" > "$T/a.pgm"
	run pamfile -allimages "$T/a.pgm"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --partial "PGM raw, 28 by 28  maxval 255"
}

@test "pick: bad input" {
	pick -n 10 "$LABELS" > "$T/l10.npy"
	run -1 pick -l "$T/l10.npy" -k 1 "$IMAGES"
	assert_output --regexp '^pick: fewer labels than samples'
	assert_equal "${#lines[@]}" 1
	run -1 pick -R -l "$T/l10.npy" -k 1 "$IMAGES"
	assert_output --regexp '^pick: fewer labels than samples'
	assert_equal "${#lines[@]}" 1
	pick -n 10 "$IMAGES" > "$T/i10.npy"
	run -1 pick -l "$LABELS" -k 1 "$T/i10.npy"
	assert_output --regexp '^pick: more labels than samples'
	assert_equal "${#lines[@]}" 1
	run -1 pick -l "$IMAGES" -k 1 "$IMAGES"
	assert_output --regexp '^pick: labels must be scalars'
	assert_equal "${#lines[@]}" 1
	run -1 pick -P "$LABELS"
	assert_output --regexp '^pick: -P needs images'
	assert_equal "${#lines[@]}" 1
	"$PY" -c "import numpy as np; np.save('$T/big.npy', np.array([3, 300], dtype=np.int32))"
	run -1 pick -l "$T/big.npy" -k 300 -L "$T/out.npy" "$T/big.npy"
	assert_output --regexp '^pick: label 300 does not fit'
	assert_equal "${#lines[@]}" 1
	[ ! -e "$T/out.npy" ]
	run -1 pick "$T/missing.npy"
	assert_output --regexp '^pick: cannot open'
	assert_equal "${#lines[@]}" 1
	printf 'hello world' > "$T/junk"
	run -1 pick "$T/junk"
	assert_output --regexp '^pick: '
	assert_equal "${#lines[@]}" 1
}

@test "pick: usage errors" {
	for args in "-n 3 -r 1:2" "-k 5" "-l $LABELS" "-d 3/3" "-d 1" "-r abc" "-r 1:x" \
		    "-n -1" "-L x.npy" "-s -3 -S" "--bogus" "a b"; do
		run -2 pick $args "$IMAGES"
		assert_line --index 0 --regexp '^pick: '
	done
	run -2 pick -l - -k 1
	assert_line --index 0 --regexp '^pick: data and labels cannot both be standard input'
}

@test "pick: --index-out names the input position of every sample picked" {
	# seq.npy: a sample's value is its index, so the positions are the values
	pick -R -s 4 -r 10:60 -I "$T/i.txt" "$T/seq.npy" > "$T/a.npy"
	totsv "$T/a.npy" | cmp - "$T/i.txt"
	[ "$(wc -l < "$T/i.txt")" -eq 50 ]
	# streamed: positions count the samples the label filter dropped
	pick -l "$LABELS" -k 5 -d 1/2 -I "$T/j.txt" -L "$T/l.npy" "$IMAGES" > "$T/b.npy"
	run pyck "' '.join(str(i) for i in np.flatnonzero(lab == 5)[1::2]) + ' ' + str(np.array_equal(a, img[lab == 5][1::2]))" "$T/b.npy"
	assert_output "$(tr '\n' ' ' < "$T/j.txt")True"
	run -1 pick -n 2 -I "$T/no/such/dir" "$IMAGES"
	assert_output --regexp "^pick: cannot write $T/no/such/dir: "
}
