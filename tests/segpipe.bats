#!/usr/bin/env bats
# segpipe: the front command, and `make install`'s layout (the tools in a
# directory of their own, so that their names hide no user's command).
load helper

# the tools: every bin/*.c but the front command
tools() {
	for f in "$ROOT"/bin/*.c; do
		f=${f##*/}
		[ "$f" = segpipe.c ] || echo "${f%.c}"
	done
}

@test "segpipe: alone and with --help it lists every tool; --version" {
	run segpipe
	assert_success
	assert_line --index 0 "Usage: segpipe TOOL [ARGS...]"
	local t
	for t in $(tools); do
		printf '%s\n' "$output" | sed '1,/^The tools/d' | grep -qE "(^| )$t( |\$)"
	done
	run segpipe --help
	assert_success
	assert_output --partial "PATH=\$(segpipe --exec-path):\$PATH"
	run segpipe --version
	assert_success
	assert_output --regexp "^segpipe \(segpipe\) [0-9.]+$"
}

@test "segpipe TOOL ARGS runs the tool: its output, its status" {
	segpipe otsu "$IMAGES" > "$BATS_TEST_TMPDIR/a.npy"
	otsu "$IMAGES" > "$BATS_TEST_TMPDIR/b.npy"
	cmp "$BATS_TEST_TMPDIR/a.npy" "$BATS_TEST_TMPDIR/b.npy"
	# the tool's options are its own, even ones segpipe has
	run segpipe otsu --help
	assert_success
	assert_line --index 0 --partial "Usage: otsu"
	run segpipe pick --version
	assert_output --regexp "^pick \(segpipe\)"
	run segpipe otsu "$BATS_TEST_TMPDIR/missing"
	assert_failure 1
	assert_output --partial "otsu: "
	run segpipe iou --bogus a b
	assert_failure 2
}

@test "segpipe: an unknown tool or a path is a usage error" {
	run segpipe nosuchtool
	assert_failure 2
	assert_line --index 0 --partial "segpipe: 'nosuchtool' is not a segpipe tool"
	run segpipe ../bin/otsu
	assert_failure 2
	run segpipe segpipe
	assert_failure 2
	run segpipe --bogus
	assert_failure 2
}

@test "segpipe: SEGPIPE_EXEC_PATH names the tools' directory" {
	mkdir "$BATS_TEST_TMPDIR/x"
	printf '#!/bin/sh\necho mytool "$@"\n' > "$BATS_TEST_TMPDIR/x/mytool"
	chmod +x "$BATS_TEST_TMPDIR/x/mytool"
	SEGPIPE_EXEC_PATH=$BATS_TEST_TMPDIR/x run segpipe mytool 1 2
	assert_output "mytool 1 2"
	SEGPIPE_EXEC_PATH=$BATS_TEST_TMPDIR/x run segpipe --exec-path
	assert_output "$BATS_TEST_TMPDIR/x"
}

@test "segpipe: make install puts only segpipe on PATH; the tools, their pages apart" {
	local d=$BATS_TEST_TMPDIR/stage
	run make -s -C "$ROOT" install DESTDIR="$d" PREFIX=/usr
	assert_success
	# bin holds the front command alone: no montage, compose, stack, ...
	run ls "$d/usr/bin"
	assert_output segpipe
	local t
	for t in $(tools); do
		[ -x "$d/usr/libexec/segpipe/$t" ]
		[ -f "$d/usr/share/segpipe/man/man1/$t.1" ]
		[ ! -e "$d/usr/share/man/man1/$t.1" ]
	done
	[ -f "$d/usr/share/man/man1/segpipe.1" ]
	[ -f "$d/usr/share/man/man7/segpipe.7" ]
	[ -f "$d/usr/share/man/man5/segpipe-stream.5" ]
	# the staged front command finds the staged tools
	run "$d/usr/bin/segpipe" --exec-path
	assert_output "$d/usr/libexec/segpipe"
	run "$d/usr/bin/segpipe" --man-path
	assert_output "$d/usr/share/segpipe/man"
	"$d/usr/bin/segpipe" pick --first 3 "$IMAGES" | "$d/usr/bin/segpipe" otsu > "$BATS_TEST_TMPDIR/a.npy"
	pick --first 3 "$IMAGES" | otsu > "$BATS_TEST_TMPDIR/b.npy"
	cmp "$BATS_TEST_TMPDIR/a.npy" "$BATS_TEST_TMPDIR/b.npy"
	# short names in a pipeline, as segpipe(1) says
	run env PATH="$("$d/usr/bin/segpipe" --exec-path):/usr/bin:/bin" sh -c \
		"command -v montage; pick --first 4 '$IMAGES' | montage | head -c 2"
	assert_line --index 0 "$d/usr/libexec/segpipe/montage"
	assert_line --index 1 P5
	# and their pages on MANPATH
	run mandoc -T lint -W warning "$("$d/usr/bin/segpipe" --man-path)/man1/montage.1"
	assert_success
}

@test "segpipe: man page lints clean" {
	run mandoc -T lint -W warning "$ROOT/man/man1/segpipe.1"
	assert_success
	assert_output ""
}
