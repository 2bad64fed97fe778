#!/bin/sh
# bench/filters.sh: throughput of segpipe's streaming filters over the 60000
# MNIST training images, beside cat(1) on the same bytes.
#
# Usage: sh bench/filters.sh [-q]     (run from anywhere; -q: no progress)
#
# Inputs are prepared once, uncompressed, in bench/out/ (ignored by git):
#   train.npy        uint8 (60000,28,28), the IDX bytes under an npy header
#   train_mask.npy   its Otsu masks (bin/otsu), uint8 0/1
#   train_f32.npy    float32 images /255 (numpy)
#   train_inv.npy    float32 1 - images/255 (a second float stream, numpy)
#   train_2ch.npy    uint8 (60000,2,28,28): image and mask as channels
#   test.npy, test_mask.npy   the 10000 test images and masks (for bench/run)
# Each filter found in bin/ is timed three times, output to /dev/null, and
# the best wall-clock time is kept. Tools not built yet are listed as
# skipped. A tool's command line is the first of its candidate forms that
# runs on a 64-image sample (the interfaces were still settling when this
# was written); a tool for which none works is reported, not fatal.
#
# Output: a table (tool, case, input MB, seconds, MB/s, cat MB/s, ratio =
# tool MB/s / cat MB/s), and one machine-readable line per tool:
#   filter<TAB>tool<TAB>case<TAB>MB<TAB>seconds<TAB>MB/s<TAB>cat MB/s<TAB>ratio
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/bench/out
bin=$root/bin
data=$root/data/mnist
PY=/usr/bin/python3
quiet=
[ "${1:-}" = -q ] && quiet=1

note() { [ -n "$quiet" ] || echo "filters: $*" >&2; }

# npy_header N SHAPE_TAIL DESCR: an npy 1.0 header for (N,SHAPE_TAIL) of
# DESCR, padded with spaces so that the data starts at a multiple of 64.
npy_header() {
	dict="{'descr': '$3', 'fortran_order': False, 'shape': ($1, $2), }"
	total=$((10 + ${#dict} + 1))
	padded=$(( (total + 63) / 64 * 64 ))
	hlen=$((padded - 10))
	printf '\223NUMPY\001\000'
	printf "\\$(printf %o $((hlen % 256)))\\$(printf %o $((hlen / 256)))"
	printf '%s' "$dict"
	pad=$((padded - total))
	while [ "$pad" -gt 0 ]; do printf ' '; pad=$((pad - 1)); done
	printf '\n'
}

# idx_to_npy IDX.gz N OUT: the first N 28x28 images of an IDX file as npy.
idx_to_npy() {
	{
		npy_header "$2" "28, 28" "|u1"
		gzip -dc "$1" | tail -c +17 | head -c $(($2 * 784))
	} > "$3.part"
	mv "$3.part" "$3"
}

prepare() {
	mkdir -p "$out"
	if [ ! -s "$data/train-images-idx3-ubyte.gz" ] || [ ! -s "$data/t10k-images-idx3-ubyte.gz" ]; then
		note "fetching data"
		(cd "$root" && sh pipelines/fetch-data data) >&2
	fi
	[ -x "$bin/otsu" ] || { echo "filters: bin/otsu not built (make bin/otsu)" >&2; exit 1; }
	[ -s "$out/train.npy" ] || idx_to_npy "$data/train-images-idx3-ubyte.gz" 60000 "$out/train.npy"
	[ -s "$out/test.npy" ] || idx_to_npy "$data/t10k-images-idx3-ubyte.gz" 10000 "$out/test.npy"
	[ -s "$out/small.npy" ] || idx_to_npy "$data/train-images-idx3-ubyte.gz" 64 "$out/small.npy"
	for s in train test small; do
		[ -s "$out/${s}_mask.npy" ] && continue
		"$bin/otsu" "$out/$s.npy" > "$out/${s}_mask.npy.part"
		mv "$out/${s}_mask.npy.part" "$out/${s}_mask.npy"
	done
	for s in train small; do
		[ -s "$out/${s}_2ch.npy" ] && continue
		note "preparing float32 and 2-channel versions of $s"
		"$PY" - "$out/$s.npy" "$out/${s}_mask.npy" "$out/$s" <<'EOF'
import sys
import numpy as np
def stream(path):    # a tensor stream: npy arrays back to back
    with open(path, "rb") as f:
        parts = []
        while f.peek(1):
            parts.append(np.lib.format.read_array(f))
    return np.concatenate(parts)
img = stream(sys.argv[1])
mask = stream(sys.argv[2])
base = sys.argv[3]
f = img.astype(np.float32) / np.float32(255)
np.save(base + "_f32.npy", f)
np.save(base + "_inv.npy", np.float32(1) - f)
np.save(base + "_2ch.npy", np.stack([img, mask], axis=1))
EOF
	done
}

# now: seconds since the epoch, with nanoseconds
now() { date +%s.%N; }

# best_of3 CMD: the best wall-clock seconds of three runs of CMD (eval'd,
# stdout to /dev/null); fails if any run fails.
best_of3() {
	best=
	for _ in 1 2 3; do
		t0=$(now)
		eval "$1" > /dev/null 2>&1 < /dev/null || return 1
		t1=$(now)
		best=$(awk -v a="$t0" -v b="$t1" -v best="$best" \
			'BEGIN { t = b - a; if (best == "" || t < best) best = t; printf "%.4f", best }')
	done
	echo "$best"
}

# expand CMD SET: CMD with @U8@ etc. replaced by the files of SET (train|small)
expand() {
	echo "$1" | sed -e "s|@BIN@|$bin|g" \
		-e "s|@U8@|$out/$2.npy|g" -e "s|@MASK@|$out/$2_mask.npy|g" \
		-e "s|@F32@|$out/$2_f32.npy|g" -e "s|@INV@|$out/$2_inv.npy|g" \
		-e "s|@2CH@|$out/$2_2ch.npy|g"
}

# files SET KEYS: the input files named by KEYS (U8 MASK F32 INV 2CH)
files() {
	set_=$1; shift
	for k in $*; do
		case $k in
		U8) echo "$out/$set_.npy" ;;
		MASK) echo "$out/${set_}_mask.npy" ;;
		F32) echo "$out/${set_}_f32.npy" ;;
		INV) echo "$out/${set_}_inv.npy" ;;
		2CH) echo "$out/${set_}_2ch.npy" ;;
		esac
	done
}

prepare

# tool | case | inputs | candidate command lines, separated by ';'
cases='otsu|u8 images|U8|@BIN@/otsu @U8@
otsu|f32 images|F32|@BIN@/otsu @F32@
mix|u8 + u8|U8 MASK|@BIN@/mix @U8@ @MASK@
mix|f32 + f32|F32 INV|@BIN@/mix @F32@ @INV@
occlude|u8 masks, u8 images|MASK U8|@BIN@/occlude @MASK@ @U8@;@BIN@/occlude -m @MASK@ @U8@
mse|f32 vs f32|F32 INV|@BIN@/mse @F32@ @INV@
iou|f32 probabilities vs u8 masks|F32 MASK|@BIN@/iou @F32@ @MASK@
pick|--first 60000, u8|U8|@BIN@/pick --first 60000 @U8@
pick|--first 60000, f32|F32|@BIN@/pick --first 60000 @F32@
pad|28x28 to 32x32, u8|U8|@BIN@/pad @U8@;@BIN@/pad --size 32x32 @U8@
stack|u8 + u8 as channels|U8 MASK|@BIN@/stack @U8@ @MASK@
chan|channel 0 of 2, u8|2CH|@BIN@/chan -c 0 @2CH@;@BIN@/chan 0 @2CH@
totsv|u8 images to text|U8|@BIN@/totsv @U8@'

note "timing (best of 3); this takes a few minutes"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
echo "$cases" | while IFS='|' read -r tool what keys cands; do
	if [ ! -x "$bin/$tool" ]; then
		printf 'skipped\t%s\t%s\tnot built\n' "$tool" "$what"
		continue
	fi
	chosen=
	oldifs=$IFS; IFS=';'; set -f
	for c in $cands; do
		IFS=$oldifs
		small=$(expand "$c" small)
		if eval "$small" > /dev/null 2>&1 < /dev/null; then chosen=$c; break; fi
	done
	IFS=$oldifs; set +f
	if [ -z "$chosen" ]; then
		printf 'skipped\t%s\t%s\tno known command line worked\n' "$tool" "$what"
		continue
	fi
	inputs=$(files train $keys | tr '\n' ' ')
	bytes=0
	for f in $inputs; do bytes=$((bytes + $(wc -c < "$f"))); done
	note "$tool ($what): $(expand "$chosen" train | sed "s|$root/||g")"
	if ! secs=$(best_of3 "$(expand "$chosen" train)"); then
		printf 'skipped\t%s\t%s\tfailed on the full input\n' "$tool" "$what"
		continue
	fi
	catsecs=$(best_of3 "cat $inputs")
	printf 'filter\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$what" "$bytes" "$secs" "$catsecs" \
		"$(expand "$chosen" train | sed "s|$root/||g")"
done > "$rows"

awk -F '\t' '
BEGIN {
	printf "%-8s %-30s %9s %8s %9s %9s %6s\n", "tool", "case", "input MB", "seconds", "MB/s", "cat MB/s", "ratio"
}
$1 == "filter" {
	mb = $4 / 1e6; s = $5; c = $6
	rate = s > 0 ? mb / s : 0; crate = c > 0 ? mb / c : 0
	ratio = crate > 0 ? rate / crate : 0
	printf "%-8s %-30s %9.1f %8.3f %9.1f %9.1f %6.3f\n", $2, $3, mb, s, rate, crate, ratio
	line[++n] = sprintf("filter\t%s\t%s\t%.1f\t%.3f\t%.1f\t%.1f\t%.3f", $2, $3, mb, s, rate, crate, ratio)
	cmd[n] = $7
}
$1 == "skipped" { printf "%-8s %-30s skipped: %s\n", $2, $3, $4 }
END {
	print ""
	for (i = 1; i <= n; i++) print line[i]
	print ""
	for (i = 1; i <= n; i++) print "command\t" cmd[i]
}' "$rows"
