#!/bin/sh
# bench/mpi.sh: data-parallel training under mpirun (man 7 segpipe-mpi):
# the default U-Net (16 filters, 28x28, BCE, batch 64), one epoch, trained
# by 1 process of 1 thread and by 2 ranks of 1 thread each; prints the
# images per second of both, their ratio (goal: at least 1.8) and, from
# rank 0's -v line, the time per step and the part of it spent in MPI
# calls (waiting for the other rank included), with the bytes each rank
# sends and receives per step.
#
# Usage: sh bench/mpi.sh [IMAGES MASKS]   (default: bench/out/train6400.npy
#        and its masks, made by bench/run, or the first TRAIN_N MNIST
#        training images and their Otsu masks)
# Machine-readable lines: NAME<TAB>VALUE.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
out=bench/out
TRAIN_N=${TRAIN_N:-6400}
mkdir -p "$out"
command -v mpirun > /dev/null || { echo "skipped: mpirun not installed (apt-get install openmpi-bin)"; exit 0; }
x=${1:-$out/train$TRAIN_N.npy}
y=${2:-$out/train${TRAIN_N}_mask.npy}
if [ ! -s "$x" ] || [ ! -s "$y" ]; then
	bin/pick --first "$TRAIN_N" data/mnist/train-images-idx3-ubyte.gz > "$x" &&
	bin/otsu "$x" > "$y" || { echo "mpi: could not prepare $x"; exit 1; }
fi
# OpenMPI refuses root unless told
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
status=0

# img_s HISTORY: the images per second of its one epoch
img_s() { awk -F '\t' 'NR == 2 { print $6 }' "$1"; }

bin/train-unet -j 1 -e 1 --history "$out/mpi1.tsv" -o "$out/mpi1.model" "$x" "$y" \
	2> "$out/mpi1.err" || { echo "mpi: 1 process failed: $(tail -n 1 "$out/mpi1.err")"; status=1; }
mpirun -np 2 --bind-to core bin/train-unet -j 1 -e 1 -v --history "$out/mpi2.tsv" \
	-o "$out/mpi2.model" "$x" "$y" 2> "$out/mpi2.err" ||
	{ echo "mpi: 2 ranks failed: $(grep -v '^-' "$out/mpi2.err" | head -n 3)"; status=1; }
one=$(img_s "$out/mpi1.tsv")
two=$(img_s "$out/mpi2.tsv")
comm=$(grep 'ms of it communicating' "$out/mpi2.err")
printf 'mpi_1rank_1thread_train_img_s\t%s\n' "$one"
printf 'mpi_2ranks_1thread_train_img_s\t%s\n' "$two"
awk -v a="$one" -v b="$two" 'BEGIN { if (a > 0) printf "mpi_ratio_2ranks_over_1\t%.2f\t(goal >= 1.8)\n", b / a }'
echo "$comm" | sed -n 's/.*: \([0-9.]*\) ms per step, \([0-9.]*\) ms of it communicating, \([0-9.]*\) MB.*/mpi_step_ms\t\1\nmpi_comm_ms_per_step\t\2\nmpi_comm_mb_per_step_and_rank\t\3/p'
exit "$status"
