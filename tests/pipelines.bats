#!/usr/bin/env bats
# Smoke runs of every experiment pipeline on tiny sizes (SMOKE=1: the MNIST
# fixture and a slice of Debian's Fashion-MNIST), so a broken pipeline fails CI.
load helper

setup() {
	export SMOKE=1 RESULTS="$BATS_TEST_TMPDIR/results" JOBS=2
}

# has_metrics EXP METRIC...: each metric is in summary.tsv with a number
has_metrics() {
	local exp=$1; shift
	for m in "$@"; do
		run awk -F '\t' -v m="$m" '$2 == m && $3 ~ /^-?[0-9.e+-]+$/ { ok = 1 } END { exit !ok }' \
			"$RESULTS/$exp/summary.tsv"
		[ "$status" -eq 0 ] || { echo "no numeric $m in $exp"; cat "$RESULTS/$exp/summary.tsv"; return 1; }
	done
}

# valid_png FILE: netpbm reads it back
valid_png() {
	pngtopnm "$1" | pamfile >/dev/null
}

@test "pipelines/foreground: report, metrics, pictures" {
	run sh "$ROOT/pipelines/foreground"
	assert_success
	has_metrics foreground iou iou_mean dice precision recall
	for p in samples worst history; do valid_png "$RESULTS/foreground/$p.png"; done
	grep -q '| iou (pooled) |' "$RESULTS/foreground/REPORT.md"
	grep -q '^train-unet --loss bce' "$RESULTS/foreground/REPORT.md"
}

@test "pipelines/crossdata: both directions beside in-domain, adaptation, failure pictures" {
	run sh "$ROOT/pipelines/crossdata"
	assert_success
	has_metrics crossdata mnist_on_mnist_iou mnist_on_fashion_iou mnist_on_fashion_precision \
		mnist_on_fashion_recall fashion_on_fashion_iou fashion_on_mnist_iou \
		finetuned_on_fashion_iou ft-only_on_fashion_iou finetuned_on_mnist_iou
	for p in mnist-on-fashion-worst fashion-on-mnist-worst; do valid_png "$RESULTS/crossdata/$p.png"; done
	grep -q '^| Fashion-MNIST (across) |' "$RESULTS/crossdata/REPORT.md"
	grep -q '^train-unet --resume' "$RESULTS/crossdata/REPORT.md"
}

@test "pipelines/digits: report, per-class metrics" {
	run sh "$ROOT/pipelines/digits"
	assert_success
	has_metrics digits mean_iou mean_dice mean_precision iou_1 iou_10 m2nist_mean_iou params train_seconds \
		fcn_mean_iou fcn_mean_dice fcn_iou_10 fcn_m2nist_mean_iou fcn_params
	for p in samples unet-worst fcn-worst; do valid_png "$RESULTS/digits/$p.png"; done
	grep -q "^| FCN-8 |" "$RESULTS/digits/REPORT.md"
	grep -q "^train-fcn --classes 11" "$RESULTS/digits/REPORT.md"
	valid_png "$RESULTS/digits/samples.png"
}

@test "pipelines/separate: fresh pairs, two heads and their ensemble, mean and std over runs" {
	run sh "$ROOT/pipelines/separate"
	assert_success
	has_metrics separate mse mse_std mse_mnist mse_fashion mse_head_m mse_head_f mse_ensemble \
		pairs_seen train_seconds
	# 2 runs x 3 variants
	[ "$(wc -l < "$RESULTS/separate/runs.tsv")" -eq 6 ]
	# smoke: 2 epochs of 100 fresh pairs from pools of 150 x 150 images
	[ "$(wc -l < "$RESULTS/separate/pairs.tsv")" -eq 200 ]
	n=$(awk -F '\t' '$2 == "pairs_seen" { print $3 }' "$RESULTS/separate/summary.tsv")
	[ "$n" -eq "$(cut -f 2,3 "$RESULTS/separate/pairs.tsv" | sort -u | wc -l)" ] && [ "$n" -gt 100 ]
	# a new pairing each epoch: epoch 2 is not epoch 1 again
	awk -F '\t' '$1 == 1 { a[NR] = $2 " " $3 } $1 == 2 { b[NR - 100] = $2 " " $3 }
		END { for (i in a) if (a[i] != b[i]) d++; exit !(d > 90) }' "$RESULTS/separate/pairs.tsv"
	# the reported mse is the better variant's
	awk -F '\t' '{ v[$2] = $3 } END { m = v["mse_head_m"]; if (v["mse_head_f"] < m) m = v["mse_head_f"]
		if (v["mse_ensemble"] < m) m = v["mse_ensemble"]; exit !(v["mse"] == m) }' \
		"$RESULTS/separate/summary.tsv"
	# both heads' histories cover the epochs, the cosine ends below its start
	[ "$(wc -l < "$RESULTS/separate/m-history.tsv")" -eq 3 ]
	[ "$(wc -l < "$RESULTS/separate/f-history.tsv")" -eq 3 ]
	awk -F '\t' 'NR == 2 { a = $4 } NR == 3 { b = $4 } END { exit !(b < a) }' "$RESULTS/separate/m-history.tsv"
	grep -q '| 0.000386 +- 0.000008 | 0.000263' "$RESULTS/separate/REPORT.md"
	valid_png "$RESULTS/separate/samples.png"
}

@test "pipelines/separate: tune's winner when results/tune/best.tsv is there" {
	mkdir -p "$RESULTS/tune"
	printf 'filters\t16\nactivation\ttanh\nlr\t1e-3\nval_loss\t1\n' > "$RESULTS/tune/best.tsv"
	run sh "$ROOT/pipelines/separate"
	assert_success
	grep -q "16 filters, tanh, lr 1e-3" "$RESULTS/separate/REPORT.md"
	grep -q "(tune's winner, results/tune/best.tsv" "$RESULTS/separate/REPORT.md"
}

@test "pipelines/tune: every trial ranked, no configuration twice, halving, best.tsv" {
	run sh "$ROOT/pipelines/tune"
	assert_success
	has_metrics tune best_val_loss trials trainings
	[ "$(wc -l < "$RESULTS/tune/ranking.tsv")" -eq 3 ]
	[ "$(cut -f 2-4 "$RESULTS/tune/configs.tsv" | sort -u | wc -l)" -eq 3 ]
	# smoke rungs at 1 and 2 epochs: 3 trials, then the best third (1) goes on
	[ "$(wc -l < "$RESULTS/tune/trials.tsv")" -eq 4 ]
	best=$(awk -F '\t' '$1 == 0' "$RESULTS/tune/trials.tsv" | sort -t "$(printf '\t')" -k 7,7g | head -1 | cut -f 2)
	awk -F '\t' -v t="$best" '$1 == 1 { exit !($2 == t && $6 == 2) }' "$RESULTS/tune/trials.tsv"
	# ranked: the trial of the last rung first, the others by validation loss
	head -1 "$RESULTS/tune/ranking.tsv" | awk -F '\t' -v t="$best" '{ exit !($1 == t && $7 == 1) }'
	sed 1d "$RESULTS/tune/ranking.tsv" | sort -t "$(printf '\t')" -k 5,5g -c
	run cut -f 1 "$RESULTS/tune/best.tsv"
	assert_output "$(printf 'filters\nactivation\nlr\nval_loss')"
	valid_png "$RESULTS/tune/trials.png"
}

@test "pipelines/tune: an interrupted search trains only what it had not finished" {
	sh "$ROOT/pipelines/tune" 2>/dev/null
	cp "$RESULTS/tune/trials.tsv" "$BATS_TEST_TMPDIR/all.tsv"
	# as if the search had stopped before the last rung's trial ended
	sed -i '$d' "$RESULTS/tune/trials.tsv"
	run sh "$ROOT/pipelines/tune"
	assert_success
	[ "$(wc -l < "$RESULTS/tune/trials.tsv")" -eq 4 ]
	# the first three lines are untouched, one trial ran again: the last rung's
	head -3 "$BATS_TEST_TMPDIR/all.tsv" | cmp - <(head -3 "$RESULTS/tune/trials.tsv")
	tail -1 "$BATS_TEST_TMPDIR/all.tsv" | cut -f 1-6 | cmp - <(tail -1 "$RESULTS/tune/trials.tsv" | cut -f 1-6)
	# a complete search run again trains nothing
	run sh "$ROOT/pipelines/tune"
	assert_success
	[ "$(wc -l < "$RESULTS/tune/trials.tsv")" -eq 4 ]
}

@test "pipelines/summarise: one summary and one table of all studies" {
	mkdir -p "$RESULTS/foreground"
	printf 'foreground\tiou\t0.5\n' > "$RESULTS/foreground/summary.tsv"
	run sh "$ROOT/pipelines/summarise" "$RESULTS"
	assert_success
	run cat "$RESULTS/summary.tsv"
	assert_line --index 0 "$(printf 'experiment\tmetric\tvalue')"
	assert_line --index 1 "$(printf 'foreground\tiou\t0.5')"
	grep -q '| foreground | IoU | 0.5 |' "$RESULTS/README.md"
}

@test "pipelines/restore: the MLP, pasted back, and the U-Net on every row of the seed's tables" {
	run sh "$ROOT/pipelines/restore"
	assert_success
	for k in vstripe_3 vstripe_21 hstripe_3 hstripe_21 patch_5 patch_21; do
		has_metrics restore "unet_$k" "mlp_$k" "mlp_paste_$k"
	done
	# pasting the visible pixels back can only lower the MLP's error
	awk -F '\t' 'NF != 6 || $5 > $4 { bad = 1 } END { exit bad }' "$RESULTS/restore/table.tsv"
	# the U-Net trained one epoch a set of masks, each epoch resumed
	[ "$(($(wc -l < "$RESULTS/restore/unet-history.tsv") - 1))" -eq 2 ]
	[ "$(wc -l < "$RESULTS/restore/table.tsv")" -eq 22 ]
	# masked %: a 7-pixel stripe hides 7/28 of the image exactly (to 0.01 %)
	awk -F '\t' '$1 == "vstripe" && $2 == 7 { exit !($3 == "25.00") }' "$RESULTS/restore/table.tsv"
	for p in samples mse-vs-masked; do valid_png "$RESULTS/restore/$p.png"; done
}

@test "pipelines/embed: 2-D codes with their digits, MSE" {
	run sh "$ROOT/pipelines/embed"
	assert_success
	has_metrics embed mse
	# every code row: two numbers in [0,1] (sigmoid) and the digit 5 or 7
	awk -F '\t' 'NF != 3 || $1 < 0 || $1 > 1 || $2 < 0 || $2 > 1 || ($3 != 5 && $3 != 7) { bad = 1 }
		END { exit bad || NR == 0 }' "$RESULTS/embed/codes.tsv"
	valid_png "$RESULTS/embed/codes.png"
}

@test "pipelines/classify: every table, fresh augmentation every epoch, pictures" {
	run sh "$ROOT/pipelines/classify"
	assert_success
	local r="$RESULTS/classify"
	has_metrics classify accuracy macro_f1 weighted_f1 parameters tsne_seconds tsne_points seconds
	for v in none shift flip rotate erase noise all; do
		has_metrics classify "aug_${v}_accuracy" "aug_${v}_accuracy_std" "aug_${v}_macro_f1"
	done
	for k in few_scratch few_finetune few_probe all_scratch all_finetune all_probe; do
		has_metrics classify "tune_${k}_accuracy" "tune_${k}_macro_f1"
	done
	# the reported accuracy is f1's of the main network's predictions
	awk -F '\t' '$2 == "accuracy" { a = $3 } END { exit !(a >= 0 && a <= 1) }' "$r/summary.tsv"
	[ "$(awk -F '\t' '$1 == "accuracy" { print $2 }' "$r/main-f1.tsv")" = \
		"$(awk -F '\t' '$2 == "accuracy" { print $3 }' "$r/summary.tsv")" ]
	# with test-time augmentation (the image and its mirror), and without
	has_metrics classify accuracy_no_tta macro_f1_no_tta
	[ "$(awk -F '\t' '$1 == "accuracy" { print $2 }' "$r/main-plain-f1.tsv")" = \
		"$(awk -F '\t' '$2 == "accuracy_no_tta" { print $3 }' "$r/summary.tsv")" ]
	grep -q 'test-time augmentation' "$r/REPORT.md"
	# smoke: 2 epochs of the main network, one run each, the cosine over both
	[ "$(grep -c '^train-cnn: epoch [12]/2 ' "$r/main.log")" -eq 2 ]
	awk -F '\t' 'NR == 2 { a = $4 } NR == 3 { b = $4 } END { exit !(NR == 3 && a == 0.001 && b == 0.0005) }' \
		"$r/main-history.tsv"
	# 7 augmentations x 1 seed; a frozen probe keeps the MNIST features
	[ "$(wc -l < "$r/aug-runs.tsv")" -eq 7 ]
	grep -qa '^freeze 1$' "$r/tune-all-probe.model"
	# the confusion matrix counts every test image; the wrong ones are wrong
	awk -F '\t' 'NR > 1 { for (j = 2; j <= NF; j++) s += $j } END { exit !(s == 200) }' "$r/confusion.tsv"
	awk -F '\t' '$2 == $3 { bad = 1 } END { exit bad || NR == 0 }' "$r/wrong.tsv"
	[ "$(wc -l < "$r/main-tsne.tsv")" -eq 200 ]
	for p in history augmentations main-tsne tune-all-finetune-tsne confusion wrong; do
		valid_png "$r/$p.png"
	done
	grep -q '| test accuracy | ' "$r/REPORT.md"
	grep -q '^| all | `--shift 2 --flip --rotate 10 --erase 0.5 --noise 0.1` | ' "$r/REPORT.md"
	grep -q '^| few (100 images, 2 epochs) | ' "$r/REPORT.md"
	grep -qF 'train-cnn -j "$f_j" --until "$f_e" --resume "$OUT/$f_name.model"' "$r/REPORT.md"
}
