#!/usr/bin/env bats
# Truncation at every boundary: small files of each format cut at every
# byte. A cut that ends a whole record (npy) or image (PGM) is a shorter
# valid stream; every other cut is exit 1 with one line "tool: ..." naming
# the file. And a writer killed mid-stream gives its reader a truncation
# error, not a short success.

load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	# two npy records (uint8 3x4x4, then float32 2x4x4), an IDX file of 3
	# 4x4 images, a PGM stream of 2 images, and the npy stream gzip'd
	"$PY" - <<'PYEOF'
import numpy as np, struct
a = (np.arange(3 * 16) * 5 % 256).astype(np.uint8).reshape(3, 4, 4)
b = (np.arange(2 * 16) / 32).astype('<f4').reshape(2, 4, 4)
with open('two.npy', 'wb') as f:
    np.save(f, a)
    first = f.tell()
    np.save(f, b)
open('first-record', 'w').write('%d\n' % first)
with open('three.idx', 'wb') as f:
    f.write(b'\0\0\x08\x03' + struct.pack('>3I', 3, 4, 4) + a.tobytes())
with open('two.pgm', 'wb') as f:
    for im in a[:2]:
        f.write(b'P5\n4 4\n255\n' + im.tobytes())
PYEOF
	gzip -9 -c two.npy > two.npy.gz
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# every_cut FILE OK-LENGTHS TOOL ARGS...: run TOOL ARGS on every proper
# prefix of FILE, written to ./cut, with the argument "@" standing for it
# (or it last when no argument is "@"). Lengths in OK-LENGTHS (space
# separated) must succeed silently; every other one must exit 1 with exactly
# one line "TOOL: ..." that names the file cut. Never a signal, never a
# hang (5 s each). Prints how many cuts it checked. LENGTHS, when set, is
# the list of cut lengths to try instead of all of them.
every_cut() {
	local file=$1 ok=" $2 " tool=$3 size n status a placed=
	shift 2
	local args=()
	for a in "$@"; do
		[ "$a" = @ ] && { a=cut; placed=1; }
		args+=("$a")
	done
	[ -n "$placed" ] || args+=(cut)
	size=$(wc -c <"$file")
	local cuts=${LENGTHS:-$(seq 0 $((size - 1)))}
	for n in $cuts; do
		head -c "$n" "$file" > cut
		status=0
		timeout 5 "${args[@]}" >/dev/null 2>err || status=$?
		case "$ok" in
		*" $n "*)
			[ "$status" -eq 0 ] && [ ! -s err ] ||
				{ echo "$file cut at $n: expected a valid stream, got exit $status:"; cat err; return 1; } ;;
		*)
			if [ "$status" -ne 1 ] || [ "$(wc -l <err)" -ne 1 ] ||
			   ! grep -q "^$tool: .*cut" err; then
				echo "$file cut at $n: exit $status, expected 1 and one '$tool: ... cut ...' line:"
				cat err
				return 1
			fi ;;
		esac
	done
	echo "$(echo $cuts | wc -w) cuts"
}

@test "cut: npy stream of two records, at every byte; only the end of record 1 is a stream" {
	run every_cut two.npy "$(cat first-record)" otsu
	assert_success
	assert_output --regexp '^[0-9]{3} cuts$'
}

@test "cut: the same stream gzip'd, at every byte" {
	run every_cut two.npy.gz "" otsu
	assert_success
}

@test "cut: IDX images, at every byte" {
	run every_cut three.idx "" otsu
	assert_success
	assert_output "64 cuts"
}

@test "cut: PGM stream of two images, at every byte; only the end of image 1 is a stream" {
	run every_cut two.pgm 27 otsu
	assert_success
	assert_output "54 cuts"
}

@test "cut: a model file at every byte is refused by predict" {
	local in="$ROOT/fuzz/corpus/stream/u1-2x8x8.npy"
	run every_cut "$ROOT/fuzz/corpus/model/mlp.model" "" predict -j 1 @ "$in"
	assert_success
	assert_output "2152 cuts"
}

@test "cut: a U-Net model at every byte of its header, then every 37th and the last 8" {
	local in="$ROOT/fuzz/corpus/stream/u1-2x8x8.npy" m="$ROOT/fuzz/corpus/model/unet.model"
	local size=$(wc -c <"$m")
	LENGTHS="$(seq 0 600) $(seq 601 37 $((size - 9))) $(seq $((size - 8)) $((size - 1)))"
	run every_cut "$m" "" predict -j 1 @ "$in"
	assert_success
}

@test "cut: a writer killed mid-stream gives the reader a truncation error" {
	# the writer sends 5000 of the 37760 bytes of 48 images, then dies by
	# SIGKILL ($BASHPID: the subshell on the left of the pipe)
	pick --first 48 "$IMAGES" > w.npy
	run bash -c '{ head -c 5000 w.npy; kill -9 $BASHPID; cat w.npy; } | otsu > /dev/null'
	assert_equal "$status" 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp '^otsu: truncated data: [0-9]+ of 784 bytes \(stdin, sample 6\)$'
}
