#!/usr/bin/env bats
# fuzz_regress: every input that ever crashed a fuzz target (fuzz/crashes/)
# and the seed corpora, whole and cut short, through the real tools: otsu
# for streams, predict for models. Each run ends with exit 0, or exit 1 and
# one line "TOOL: ..."; never a signal, a sanitizer report or a hang.

load helper

# survives TOOL ARGS...: run in about 1 GB of memory ($MEMLIMIT) under a
# 10 s timeout, stdout dropped; fail unless the exit is 0 silent, or 1 with
# one error line that is not "out of memory" (a bad input must not make a
# tool ask for more than its data warrants)
survives() {
	local tool=$1 err="$BATS_TEST_TMPDIR/err" status=0
	bash -c "$MEMLIMIT"'; exec timeout 10 "$@"' _ "$@" >/dev/null 2>"$err" || status=$?
	case $status in
	0) [ ! -s "$err" ] || { echo "$tool $*: exit 0 with messages:"; cat "$err"; return 1; } ;;
	1) if [ "$(wc -l <"$err")" -ne 1 ] || ! grep -q "^$tool: " "$err" ||
	      grep -q "out of memory" "$err"; then
		echo "$*: exit 1 without one '$tool: ' line, or out of memory:"; cat "$err"; return 1
	   fi ;;
	*) echo "$*: exit $status (124: timeout; >128: signal)"; cat "$err"; return 1 ;;
	esac
}

@test "fuzz_regress: stream crash inputs through otsu" {
	for f in "$ROOT"/fuzz/crashes/stream/*; do
		[ -e "$f" ] || continue
		survives otsu "$f"
		survives otsu -P "$f"
		survives pick --shuffle "$f"    # the whole stream in memory
	done
}

@test "fuzz_regress: stream corpus, whole and cut short, through otsu" {
	local n=0
	for f in "$ROOT"/fuzz/corpus/stream/*; do
		survives otsu "$f"
		for cut in 1 7 12 $(($(wc -c <"$f") / 2)) $(($(wc -c <"$f") - 1)); do
			head -c "$cut" "$f" >"$BATS_TEST_TMPDIR/cut"
			survives otsu "$BATS_TEST_TMPDIR/cut"
		done
		n=$((n + 1))
	done
	[ "$n" -ge 20 ]
}

@test "fuzz_regress: the stream corpus is read as it should be (exit 0)" {
	# totsv: any sample shape, any values (otsu refuses what is not an image)
	for f in "$ROOT"/fuzz/corpus/stream/*; do
		run totsv "$f"
		[ "$status" -eq 0 ] || { echo "$f: $output"; return 1; }
	done
}

@test "fuzz_regress: model crash inputs through predict" {
	local in="$ROOT/fuzz/corpus/stream/u1-2x8x8.npy"
	for f in "$ROOT"/fuzz/crashes/model/*; do
		[ -e "$f" ] || continue
		survives predict -j 1 "$f" "$in"
	done
}

@test "fuzz_regress: model corpus, whole, cut short and flipped, through predict" {
	local in="$ROOT/fuzz/corpus/stream/u1-2x8x8.npy" cut="$BATS_TEST_TMPDIR/cut.model"
	for f in "$ROOT"/fuzz/corpus/model/*; do
		run predict -j 1 "$f" "$in"
		[ "$status" -eq 0 ] || { echo "$f: $output"; return 1; }
		for len in 0 20 100 $(($(wc -c <"$f") - 4)) $(($(wc -c <"$f") - 1)); do
			head -c "$len" "$f" >"$cut"
			survives predict -j 1 "$cut" "$in"
		done
		# one byte changed in the header and in the tensors: the checksum
		for off in 30 $(($(wc -c <"$f") - 10)); do
			cp "$f" "$cut"
			printf 'X' | dd of="$cut" bs=1 seek="$off" conv=notrunc 2>/dev/null
			survives predict -j 1 "$cut" "$in"
			run predict -j 1 "$cut" "$in"
			assert_failure 1
		done
	done
}

@test "fuzz_regress: gzip corpus and crash inputs, whole and cut short, through otsu and totsv" {
	for f in "$ROOT"/fuzz/corpus/gzip/* "$ROOT"/fuzz/crashes/gzip/*; do
		[ -e "$f" ] || continue
		survives otsu "$f"
		survives totsv "$f"
		for cut in 1 2 10 $(($(wc -c <"$f") / 2)) $(($(wc -c <"$f") - 1)); do
			head -c "$cut" "$f" >"$BATS_TEST_TMPDIR/cut"
			survives totsv "$BATS_TEST_TMPDIR/cut"
		done
	done
}
