#!/usr/bin/env bats
# The reports the pipelines write (results/*/REPORT.md, results/README.md):
# every figure set beside segpipe's has a source, the seed column is said,
# history plots draw no validation line without validation, the digits
# report's first paragraph reads right.
load helper

SOURCES="$BATS_TEST_DIRNAME/../pipelines/sources.tsv"

# cited STUDY: the values pipelines/sources.tsv gives STUDY's figures
cited() {
	awk -F '\t' -v s="$1" '!/^#/ && $1 == s { print $3 }' "$SOURCES"
}

@test "reports: every figure in a seed or published column of a report has a source" {
	local p study n=0
	for p in "$ROOT"/pipelines/*; do
		study=${p##*/}
		# the literal cells of the tables a report prints: its header names
		# the columns; a cell under seed / published / public holds figures
		awk -v study="$study" '
			/echo "\| / {
				line = $0; sub(/^[^|]*\|/, "", line); sub(/\|[^|]*$/, "", line)
				n = split(line, cell, "|")
				if (line ~ /segpipe/) { for (i = 1; i <= n; i++) head[i] = cell[i]; next }
				for (i = 1; i <= n; i++) {
					c = cell[i]; gsub(/\$\([^)]*\)|\$\{?[A-Za-z_]+\}?/, "", c)
					if (head[i] ~ /seed|published|public/)
						while (match(c, /[0-9]*\.[0-9]+/)) {
							print (study == "summarise" ? cell[1] : study) "\t" substr(c, RSTART, RLENGTH)
							c = substr(c, RSTART + RLENGTH)
						}
				}
			}' "$p"
	done > "$BATS_TEST_TMPDIR/figures"
	# the studies' reports and the summary cite: foreground, digits, separate, restore, embed
	[ "$(cut -f 2 "$BATS_TEST_TMPDIR/figures" | sort -u | wc -l)" -ge 8 ]
	local s v
	while IFS="$(printf '\t')" read -r s v; do
		s=$(echo $s)
		n=$((n + 1))
		# 0.0224 is .0224 in a list of the seed's
		cited "$s" | grep -qF -- "${v#0}" || fail "$s: $v has no row in pipelines/sources.tsv"
	done < "$BATS_TEST_TMPDIR/figures"
	[ "$n" -ge 12 ]
	# restore's seed column comes from its variable: every value is cited
	local want
	want=$(sed -n 's/^seed="\(.*\)"$/\1/p' "$ROOT/pipelines/restore")
	assert_equal "$(cited restore | grep -F -- "$want")" "$want"
	# every source row has a source
	run awk -F '\t' '!/^#/ && (NF != 4 || $4 == "") { print NR }' "$SOURCES"
	assert_output ""
}

@test "reports: foreground's report says what the seed column is and cites its figure" {
	export SMOKE=1 RESULTS="$BATS_TEST_TMPDIR/results" JOBS=1
	run sh "$ROOT/pipelines/foreground"
	assert_success
	local r=$RESULTS/foreground/REPORT.md
	grep -q '^| metric | segpipe | seed | goal |$' "$r"
	grep -q "^A \*\*seed\*\* column gives the figure reported by the study's seed project" "$r"
	grep -q '^| seed: pooled test IoU, U-Net trained on Otsu masks | 0.5439 | the seed project "Q2 foreground extraction"' "$r"
	# the sources section comes before the commands
	run awk '/^## Sources/ { s = NR } /^## Commands/ { c = NR } END { print (s && c && s < c) }' "$r"
	assert_output 1
	# summarise: the same note and every source
	run sh "$ROOT/pipelines/summarise" "$RESULTS"
	assert_success
	grep -q "^\*\*seed\*\*: the figure reported by the study's seed project" "$RESULTS/README.md"
	[ "$(grep -c '^| [a-z]* | .* | .* | .* |$' "$RESULTS/README.md")" -ge \
		"$(grep -vc '^#\|^study' "$SOURCES")" ]
	# its training had no validation data: the plot has no validation line
	. "$ROOT/pipelines/common.sh"
	run history_gnuplot "$RESULTS/foreground/history.tsv" x.png t
	refute_output --partial validation
	assert_output --partial "title 'train'"
}

@test "reports: plot_history draws the validation line only with validation losses" {
	cd "$BATS_TEST_TMPDIR"
	printf 'epoch\ttrain_loss\tval_loss\tlr\tseconds\timages_per_s\n1\t0.5\tnan\t0.001\t1\t9\n2\t0.4\tnan\t0.001\t1\t9\n' > none.tsv
	printf 'epoch\ttrain_loss\tval_loss\tlr\tseconds\timages_per_s\n1\t0.5\t0.6\t0.001\t1\t9\n2\t0.4\t0.45\t0.001\t1\t9\n' > val.tsv
	SMOKE=1 . "$ROOT/pipelines/common.sh"
	run history_gnuplot none.tsv a.png t
	refute_output --partial validation
	run history_gnuplot val.tsv b.png t
	assert_output --partial "using 1:3 skip 1 with linespoints title 'validation'"
	# and gnuplot draws both
	plot_history none.tsv a.png t
	plot_history val.tsv b.png t
	pngtopnm a.png | pamfile > /dev/null
	pngtopnm b.png | pamfile > /dev/null
}

@test "reports: the digits report's first paragraph gives its split once and right" {
	export SMOKE=1 RESULTS="$BATS_TEST_TMPDIR/results" JOBS=1
	run sh "$ROOT/pipelines/digits"
	assert_success
	# the paragraph after the title, joined
	run awk 'NR > 2 && /^$/ { exit } NR > 2 { printf "%s ", $0 }' "$RESULTS/digits/REPORT.md"
	assert_output --partial "Training: 80 canvases (64x84, 2-3 digits, labels from nonzero pixels) composed from MNIST training digits, 16 more for validation"
	refute_output --partial "4000 train /"
	[ "$(printf '%s' "$output" | grep -o 'train' | wc -l)" -le 3 ]
}
