#!/bin/sh
# bench/precision_check.sh [OUT]: does bf16 keep quality? The foreground
# protocol (pipelines/foreground, full mode: 60000 MNIST images, 10 epochs,
# cosine learning rate, 10000 test images, IoU against their Otsu masks)
# trained once in each precision; then the separation network's shape
# (pipelines/separate: a U-Net with two outputs, MSE) on the same pairs in
# each precision. Prints NAME<TAB>VALUE lines and the differences; goal:
# IoU within 0.001, separation MSE within 5%. Long (tens of minutes): not
# part of make test or make bench. Needs make data.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-bench/out/precision}
THREADS=${THREADS:-2}
FG_N=${FG_N:-60000} FG_EPOCHS=${FG_EPOCHS:-10}
SEP_N=${SEP_N:-20000} SEP_EPOCHS=${SEP_EPOCHS:-3} SEP_FILTERS=${SEP_FILTERS:-32}
mkdir -p "$out"
export PATH="$root/bin:$PATH"
m=data/mnist f=data/fashion

pick --first "$FG_N" $m/train-images-idx3-ubyte.gz > "$out/fg-train.npy"
otsu "$out/fg-train.npy" > "$out/fg-masks.npy"
pick --first 10000 $m/t10k-images-idx3-ubyte.gz > "$out/fg-test.npy"
otsu "$out/fg-test.npy" > "$out/fg-test-masks.npy"
# the separation data: mixtures of MNIST and Fashion-MNIST, padded to 32x32
pick --first "$SEP_N" $m/train-images-idx3-ubyte.gz | pad > "$out/sa.npy"
pick --first "$SEP_N" $f/train-images-idx3-ubyte.gz | pad > "$out/sb.npy"
mix "$out/sa.npy" "$out/sb.npy" > "$out/sx.npy"
stack "$out/sa.npy" "$out/sb.npy" > "$out/sy.npy"
pick --first 2000 $m/t10k-images-idx3-ubyte.gz | pad > "$out/ta.npy"
pick --first 2000 $f/t10k-images-idx3-ubyte.gz | pad > "$out/tb.npy"
mix "$out/ta.npy" "$out/tb.npy" > "$out/tx.npy"
stack "$out/ta.npy" "$out/tb.npy" > "$out/ty.npy"

for p in bf16 fp32; do
	t0=$(date +%s)
	train-unet -j "$THREADS" --precision $p --loss bce --epochs "$FG_EPOCHS" --cosine \
		-o "$out/fg-$p.model" "$out/fg-train.npy" "$out/fg-masks.npy" 2> "$out/fg-$p.log"
	t1=$(date +%s)
	predict -j "$THREADS" --threshold 0.5 "$out/fg-$p.model" "$out/fg-test.npy" > "$out/fg-pred-$p.npy"
	printf 'foreground_%s_iou\t%s\n' $p "$(iou "$out/fg-pred-$p.npy" "$out/fg-test-masks.npy" | awk -F '\t' '$1 == "iou" { print $2 }')"
	printf 'foreground_%s_train_seconds\t%s\n' $p $((t1 - t0))
	t0=$(date +%s)
	train-unet -j "$THREADS" --precision $p --loss mse --filters "$SEP_FILTERS" \
		--epochs "$SEP_EPOCHS" --cosine -o "$out/sep-$p.model" "$out/sx.npy" "$out/sy.npy" 2> "$out/sep-$p.log"
	t1=$(date +%s)
	predict -j "$THREADS" "$out/sep-$p.model" "$out/tx.npy" > "$out/sep-pred-$p.npy"
	printf 'separate_%s_mse\t%s\n' $p "$(mse "$out/sep-pred-$p.npy" "$out/ty.npy" | awk -F '\t' '$1 == "mse" { print $2 }')"
	printf 'separate_%s_train_seconds\t%s\n' $p $((t1 - t0))
done | tee "$out/precision.tsv"
awk -F '\t' '{ v[$1] = $2 } END {
	d = v["foreground_bf16_iou"] - v["foreground_fp32_iou"]
	printf "foreground_iou_bf16_minus_fp32\t%.5f\t%s\n", d, (d > -0.001 ? "within 0.001" : "MISSED")
	r = v["separate_bf16_mse"] / v["separate_fp32_mse"] - 1
	printf "separate_mse_bf16_over_fp32\t%+.2f%%\t%s\n", 100 * r, (r < 0.05 ? "within 5%" : "MISSED")
}' "$out/precision.tsv" | tee -a "$out/precision.tsv"
