# pipelines/common.sh: sourced by every experiment script.
# Sizes: SMOKE=1 (tiny, for make test), default quick (minutes), FULL=1 (the
# full protocol). Data: data/ from `make data`; SMOKE uses the test fixture.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PATH="$ROOT/bin:$PATH"
export PATH
RESULTS=${RESULTS:-$ROOT/results}
DATA=${DATA:-$ROOT/data}
FULL=${FULL:-0}
SMOKE=${SMOKE:-0}
JOBS=${JOBS:-$(nproc)}

if [ "$SMOKE" = 1 ]; then
	MODE=smoke
	MNIST_TRAIN=$ROOT/tests/fixtures/mnist-test-500-images.idx.gz
	MNIST_TRAIN_LABELS=$ROOT/tests/fixtures/mnist-test-500-labels.idx.gz
	MNIST_TEST=$MNIST_TRAIN
	MNIST_TEST_LABELS=$MNIST_TRAIN_LABELS
	FASHION=${FASHION:-/usr/share/datasets/fashion-mnist}
	FASHION_TRAIN=$FASHION/t10k-images-idx3-ubyte.gz
	FASHION_TEST=$FASHION/t10k-images-idx3-ubyte.gz
else
	[ "$FULL" = 1 ] && MODE=full || MODE=quick
	MNIST_TRAIN=$DATA/mnist/train-images-idx3-ubyte.gz
	MNIST_TRAIN_LABELS=$DATA/mnist/train-labels-idx1-ubyte.gz
	MNIST_TEST=$DATA/mnist/t10k-images-idx3-ubyte.gz
	MNIST_TEST_LABELS=$DATA/mnist/t10k-labels-idx1-ubyte.gz
	FASHION_TRAIN=$DATA/fashion/train-images-idx3-ubyte.gz
	FASHION_TEST=$DATA/fashion/t10k-images-idx3-ubyte.gz
	for f in "$MNIST_TRAIN" "$FASHION_TRAIN"; do
		[ -s "$f" ] || { echo "$0: $f missing: run make data" >&2; exit 1; }
	done
fi

# size SMOKE QUICK FULL: the value for this mode
size() {
	case $MODE in smoke) echo "$1" ;; quick) echo "$2" ;; full) echo "$3" ;; esac
}

# begin NAME: the experiment's output folder in $OUT, a fresh REPORT.md
begin() {
	EXP=$1
	OUT=$RESULTS/$EXP
	mkdir -p "$OUT"
	rm -f "$OUT/summary.tsv"
	T0=$(date +%s)
	echo "== $EXP ($MODE)" >&2
}

# value FILE NAME: the value of NAME in a TSV of name<TAB>value lines
value() {
	awk -F '\t' -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"
}

# record METRIC VALUE: one line of results/summary.tsv
record() {
	printf '%s\t%s\t%s\n' "$EXP" "$1" "$2" >> "$OUT/summary.tsv"
}

# elapsed: seconds since begin
elapsed() {
	echo $(( $(date +%s) - T0 ))
}

# png PGMFILE PNGFILE
png() {
	pnmtopng < "$1" > "$2"
}

# history_gnuplot TSV PNG TITLE: the gnuplot script of plot_history: the
# training loss per epoch, and the validation loss only when the history
# has one (a run without validation data writes nan there)
history_gnuplot() {
	cat <<GP
set terminal png size 640,400
set output '$2'
set title '$3'
set xlabel 'epoch'
set ylabel 'loss'
set logscale y
set key top right
GP
	if awk -F '\t' 'NR > 1 && $3 ~ /^[-+]?[0-9.]+([eE][-+]?[0-9]+)?$/ { v = 1 } END { exit !v }' "$1"; then
		printf "plot '%s' using 1:2 skip 1 with linespoints title 'train', '%s' using 1:3 skip 1 with linespoints title 'validation'\n" "$1" "$1"
	else
		printf "plot '%s' using 1:2 skip 1 with linespoints title 'train'\n" "$1"
	fi
}

# plot_history TSV PNG TITLE: training (and validation) loss per epoch
plot_history() {
	history_gnuplot "$@" | gnuplot 2>/dev/null
}

# report_sources [STUDY]: the sources of the figures a report sets beside
# segpipe's (pipelines/sources.tsv, the rows of STUDY, default $EXP, and of
# all), and what its "seed" column is
report_sources() {
	printf '\n## Sources\n\n'
	printf 'A **seed** column gives the figure reported by the study'"'"'s seed project: the\n'
	printf 'earlier implementation of the same protocol that segpipe re-does. *Published*\n'
	printf 'and *best public* figures are other public results.\n\n'
	printf '| figure | value | source |\n| --- | --- | --- |\n'
	awk -F '\t' -v s="${1:-$EXP}" '!/^#/ && NR > 1 && ($1 == s || $1 == "all") && $1 != "study" {
		printf "| %s | %s | %s |\n", $2, $3, $4 }' "$ROOT/pipelines/sources.tsv"
}

# report_commands: the sources of the report's figures, then the script
# itself, as the exact commands of the report
report_commands() {
	report_sources
	printf '\n## Commands\n\nRun as `%s` (mode %s, settings above):\n\n```sh\n' \
		"pipelines/$EXP" "$MODE"
	sed -n '/^# --- pipeline/,/^# --- end/p' "$ROOT/pipelines/$EXP" | sed '1d;$d'
	printf '```\n'
}
