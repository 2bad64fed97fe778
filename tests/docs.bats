#!/usr/bin/env bats
# The conventions across the tools and their documentation: one meaning per
# option letter (and segpipe(7)'s table of them), every option in its man
# page, sizes with their numpy shape, segpipe(7)'s lists and examples.
load helper

# tools: every bin/*.c
tools() {
	for f in "$ROOT"/bin/*.c; do
		f=${f##*/}
		echo "${f%.c}"
	done
}

# letters TOOL: "X long" for each "  -X, --long" line of TOOL --help
letters() {
	"$1" --help | sed -n 's/^  -\([a-zA-Z]\), --\([a-z][a-z-]*\).*/\1 \2/p'
}

@test "docs: one meaning per option letter across the tools, as segpipe(7)'s table says" {
	local t
	for t in $(tools); do
		letters "$t" | sed "s/\$/ $t/"
	done > "$BATS_TEST_TMPDIR/all"
	# a letter with two long names anywhere (-n: --count and --first, both
	# "how many samples", is the one the table gives two)
	run awk '{ if (!(($1, $2) in seen)) { seen[$1, $2] = 1; n[$1]++; names[$1] = names[$1] " " $2 } }
		END { for (l in n) if (n[l] > 1 && names[l] != " count first" && names[l] != " first count")
			print l ":" names[l] }' "$BATS_TEST_TMPDIR/all"
	assert_output ""
	# every pair is in segpipe(7)'s table: ".It Fl X Ta Fl \-long ..."
	local l long tool
	while read -r l long tool; do
		grep -q "^\.It Fl $l Ta .*Fl \\\\-$long\b" "$ROOT/man/man7/segpipe.7" ||
			fail "$tool -$l --$long is not in segpipe(7)'s table"
	done < "$BATS_TEST_TMPDIR/all"
	# the letters -s, -S, -c, -p mean seed, size, channels, per-sample
	run awk '$1 == "s" && $2 != "seed" || $1 == "S" && $2 != "size" ||
		$1 == "c" && $2 != "channels" || $1 == "p" && $2 != "per-sample"' "$BATS_TEST_TMPDIR/all"
	assert_output ""
}

@test "docs: every short option a tool takes is in its --help, as -X, --long" {
	# the short letters getopt_long is given (TRAIN_SHORTOPTS for the trainers)
	local t opts train
	train=$(sed -n 's/^#define TRAIN_SHORTOPTS "\(.*\)"/\1/p' "$ROOT/lib/nn/trainer.h")
	for t in $(tools); do
		opts=$(sed -n 's/.*getopt_long(argc, argv, \(.*\), longopts.*/\1/p' "$ROOT/bin/$t.c" |
			sed "s/TRAIN_SHORTOPTS/\"$train\"/; s/[\" +:]//g")
		local k
		for k in $(printf '%s' "$opts" | fold -w 1); do
			"$t" --help | grep -q "^  -$k, --" || fail "$t: -$k is not in its --help"
		done
	done
	# montage's --scale is -z now; -s is no option of montage
	run montage -s 2 "$IMAGES"
	assert_failure 2
	assert_output --partial "unknown option '-s'"
	pick --first 4 "$IMAGES" | montage -z 2 | pick --first 1 > /dev/null
}

@test "docs: every long option of a tool's --help is in its man page" {
	local t o
	for t in $(tools); do
		for o in $("$t" --help | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}--\([a-z][a-z-]*\).*/\2/p'); do
			# (the page without its backslashes: \-val\-fraction is -val-fraction)
			tr -d '\\' < "$ROOT/man/man1/$t.1" | grep -q -- "\(Fl\|,\) -$o\b" ||
				fail "$t --$o is not in man/man1/$t.1"
		done
	done
}

@test "docs: a size WxH in a man page comes with the numpy shape it makes" {
	local f
	for f in "$ROOT"/man/man*/*.[157]; do
		# an option's WxH: the page says the samples' shape (H,W)
		if grep -q 'Ar W Ns x Ns Ar H' "$f"; then
			grep -q '(H,W)' "$f" || fail "$f: WxH without the shape (H,W)"
		fi
		# a size of other width and height, e.g. 84x64: its shape (64,84) too
		local s w h
		for s in $(grep -o '\b[1-9][0-9]*x[1-9][0-9]*\b' "$f" | sort -u); do
			w=${s%x*} h=${s#*x}
			[ "$w" = "$h" ] || grep -q "($h,$w)" "$f" || fail "$f: $s without the shape ($h,$w)"
		done
	done
}

@test "docs: segpipe(7) lists every tool, and its SEE ALSO names them" {
	local t list see
	list=$(sed -n '/^\.Ss The tools/,/^\.El/p' "$ROOT/man/man7/segpipe.7")
	see=$(sed -n '/^\.Sh SEE ALSO/,$p' "$ROOT/man/man7/segpipe.7")
	for t in $(tools); do
		printf '%s\n' "$list" | grep -q "^\.It Xr $t 1\$" || fail "segpipe(7)'s tool list lacks $t"
		printf '%s\n' "$see" | grep -q "^\.Xr $t 1" || fail "segpipe(7)'s SEE ALSO lacks $t"
	done
}

@test "docs: segpipe(7)'s examples run" {
	cd "$BATS_TEST_TMPDIR"
	# the files they name, small: the fixture's images
	cp "$IMAGES" images.gz
	cp "$IMAGES" train-images.gz
	cp "$IMAGES" test-images.gz
	pick --first 20 "$IMAGES" | gzip > digits.gz
	pick --range 20:40 "$IMAGES" | gzip > fashion.gz
	# each literal block of the EXAMPLES section, as a shell script
	awk '/^\.Sh EXAMPLES/ { on = 1; next } /^\.Sh / { on = 0 }
		on && /^\.Bd -literal/ { n++; f = "ex" n ".sh"; next }
		on && /^\.Ed/ { close(f); f = ""; next }
		f { print > f }' "$ROOT/man/man7/segpipe.7"
	local n=0 e
	for e in ex*.sh; do
		n=$((n + 1))
		# -e 1: the training example trains one epoch here
		sed -i 's/^train-unet -o/train-unet -e 1 -j 1 -o/; s/^predict /predict -j 1 /' "$e"
		run sh -e "$e"
		[ "$status" -eq 0 ] || fail "segpipe(7) example $n failed: $(cat "$e") -> $output"
	done
	[ "$n" -ge 5 ]
}
