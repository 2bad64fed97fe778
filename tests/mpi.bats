#!/usr/bin/env bats
load helper

# Data-parallel training under mpirun (man 7 segpipe-mpi): the ranks of a
# run give the bytes of one process with the same --chunks; a killed rank
# ends the job and leaves rank 0's last model whole and resumable.

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	pick --first 64 "$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz" > i64.npy
	otsu i64.npy > m64.npy
	pick --first 40 i64.npy > i40.npy
	otsu i40.npy > m40.npy
}

setup() {
	command -v mpirun > /dev/null || skip "mpirun is not installed (apt-get install openmpi-bin)"
	# OpenMPI's own allocations (MPI_Init's) are not freed by MPI_Finalize
	# and would fail LeakSanitizer; the tree the ranks share is checked
	# under the sanitizers in tests/unit/test_dist
	[ -z "${SEGPIPE_SANITIZE:-}" ] || skip "mpirun runs are not sanitized (OpenMPI's allocations)"
	# as root OpenMPI wants to be told; 2 cores take 4 ranks only when told
	export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	cd "$BATS_FILE_TMPDIR"
}

MPIRUN="mpirun --oversubscribe"
# the small, fast network every test trains
T="--filters 4 -j 1 -b 16"
M="--layers 784,32,784 --activations relu,sigmoid -j 1 -b 16"

header() {
	sed -n "/^\$/q; s/^$2 //p" "$1"
}

@test "mpi: 2 ranks give the bytes of one process with --chunks 2 (train-unet, train-mlp)" {
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 2 --chunks 2 -o "$d/one.model" i64.npy m64.npy 2> /dev/null
	$MPIRUN -np 2 train-unet $T -e 2 -o "$d/two.model" i64.npy m64.npy 2> "$d/err"
	cmp "$d/one.model" "$d/two.model"
	# the chunk count defaults to the rank count and is in the model
	assert_equal "$(header "$d/two.model" chunks)" 2
	# rank 0 alone reports the epochs
	run grep -c 'epoch 2/2' "$d/err"
	assert_output 1
	# validation, early stopping, the plateau and the history, with the MLP
	train-mlp $M -e 3 --val-fraction 0.25 --patience 2 --plateau 1 --chunks 2 \
		--history "$d/one.tsv" -o "$d/one.mlp" i64.npy i64.npy 2> /dev/null
	$MPIRUN -np 2 train-mlp $M -e 3 --val-fraction 0.25 --patience 2 --plateau 1 \
		--history "$d/two.tsv" -o "$d/two.mlp" i64.npy i64.npy 2> /dev/null
	cmp "$d/one.mlp" "$d/two.mlp"
	run diff <(cut -f 1-4 "$d/one.tsv") <(cut -f 1-4 "$d/two.tsv")
	assert_success
	run wc -l < "$d/two.tsv"
	assert_output 4
}

@test "mpi: 1, 2, 3 and 4 ranks give the same bytes with --chunks 4; the last batch short of chunks" {
	local d=$BATS_TEST_TMPDIR
	# 32 of 40 samples train in batches of 15: the last batch of 2 leaves
	# two of its 4 chunks empty; the 8 held out are one batch, for one rank
	train-unet $T -b 15 -e 2 --chunks 4 --val-fraction 0.2 -o "$d/one.model" i40.npy m40.npy \
		2> /dev/null
	for n in 2 3 4; do
		$MPIRUN -np $n train-unet $T -b 15 -e 2 --chunks 4 --val-fraction 0.2 -o "$d/$n.model" \
			i40.npy m40.npy 2> /dev/null
		cmp "$d/one.model" "$d/$n.model"
	done
	# the chunks are not the threads': one chunk differs from four
	train-unet $T -b 15 -e 2 --val-fraction 0.2 -o "$d/plain.model" i40.npy m40.npy 2> /dev/null
	! cmp -s "$d/one.model" "$d/plain.model"
	# standard output from rank 0 alone
	$MPIRUN -np 2 train-unet $T -b 15 -e 2 --chunks 4 --val-fraction 0.2 -o - i40.npy m40.npy \
		> "$d/stdout.model" 2> /dev/null
	cmp "$d/one.model" "$d/stdout.model"
}

# loaded RANK ERR: the range and counts rank RANK's -v line says it loaded
loaded() {
	sed -n "s/^train-unet (rank $1): \(.*samples\)/\1/p" "$2"
}

@test "mpi: each rank loads only its chunks' shards; the ranges cover the data once" {
	local d=$BATS_TEST_TMPDIR
	# 64 samples, 2 chunks of 8 per batch of 16: shard 0 is samples 0..31
	$MPIRUN -np 2 train-unet $T -e 1 -v -o "$d/two.model" i64.npy m64.npy 2> "$d/err"
	run loaded 0 "$d/err"
	assert_output "samples 0..31 of 64 (32 training samples: its 1 of 2 chunks)"
	run loaded 1 "$d/err"
	assert_output "samples 32..63 of 64 (32 training samples: its 1 of 2 chunks)"
	# the bytes of one process, which loads everything (and says nothing)
	train-unet $T -e 1 -v --chunks 2 -o "$d/one.model" i64.npy m64.npy 2> "$d/err1"
	cmp "$d/one.model" "$d/two.model"
	run grep -c 'samples' "$d/err1"
	assert_output 0
	# 32 of 40 train in batches of 15, 15, 2: chunks of 3,4,4,4 and 0,1,0,1
	# make shards of 6, 9, 8 and 9; the 8 held out are one batch, rank 1's
	$MPIRUN -np 2 train-unet $T -b 15 -e 1 --chunks 4 --val-fraction 0.2 -v -o "$d/v.model" \
		i40.npy m40.npy 2> "$d/err"
	run loaded 0 "$d/err"
	assert_output --regexp '^samples 0\.\.[0-9]+ of 40 \(15 training samples: its 2 of 4 chunks\), and 0 of 8 validation samples$'
	run loaded 1 "$d/err"
	assert_output --regexp '^samples [0-9]+\.\.39 of 40 \(17 training samples: its 2 of 4 chunks\), and 8 of 8 validation samples$'
	# rank 0's training span ends before rank 1's begins
	local e0 s1
	e0=$(loaded 0 "$d/err" | sed 's/^samples 0\.\.\([0-9]*\) .*/\1/')
	s1=$(loaded 1 "$d/err" | sed 's/^samples \([0-9]*\)\.\..*/\1/')
	[ "$e0" -lt "$s1" ]
	# --val files: each rank its validation batches (16 of 40, then 24)
	train-unet $T -e 1 --chunks 2 --val i40.npy m40.npy -o "$d/one.val" i64.npy m64.npy 2> /dev/null
	$MPIRUN -np 2 train-unet $T -e 1 -v --val i40.npy m40.npy -o "$d/two.val" i64.npy m64.npy \
		2> "$d/err"
	cmp "$d/one.val" "$d/two.val"
	run loaded 0 "$d/err"
	assert_output "samples 0..31 of 64 (32 training samples: its 1 of 2 chunks), and 16 of 40 validation samples"
	run loaded 1 "$d/err"
	assert_output "samples 32..63 of 64 (32 training samples: its 1 of 2 chunks), and 24 of 40 validation samples"
}

@test "mpi: more ranks than chunks: the others idle, with a warning, and the bytes of one process" {
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 1 -o "$d/one.model" i40.npy m40.npy 2> /dev/null
	run $MPIRUN -np 2 train-unet $T -e 1 --chunks 1 -o "$d/two.model" i40.npy m40.npy
	assert_success
	assert_output --partial "2 ranks but 1 chunk per batch: the ranks from 1 on have nothing to compute"
	cmp "$d/one.model" "$d/two.model"
}

@test "mpi: without mpirun, --chunks 1 is the plain run, and no chunks key is written" {
	local d=$BATS_TEST_TMPDIR
	train-unet $T -e 1 -o "$d/plain.model" i40.npy m40.npy 2> /dev/null
	train-unet $T -e 1 --chunks 1 -o "$d/one.model" i40.npy m40.npy 2> /dev/null
	cmp "$d/plain.model" "$d/one.model"
	run header "$d/plain.model" chunks
	assert_output ""
	# a resumed run keeps the model's chunks: 1 + 1 epochs equal 2 in one go
	train-unet $T -e 1 --chunks 2 -o "$d/c.model" i40.npy m40.npy 2> /dev/null
	train-unet -j 1 --resume "$d/c.model" -e 2 -o "$d/c.model" i40.npy m40.npy 2> /dev/null
	train-unet $T -e 2 --chunks 2 -o "$d/c2.model" i40.npy m40.npy 2> /dev/null
	cmp "$d/c.model" "$d/c2.model"
}

@test "mpi: bad --chunks, and ranks that read different data, are errors" {
	local d=$BATS_TEST_TMPDIR
	run train-unet $T --chunks 0 -o "$d/x.model" i40.npy m40.npy
	assert_failure 2
	assert_output --partial "--chunks"
	run train-unet $T --chunks 17 -o "$d/x.model" i40.npy m40.npy
	assert_failure 2
	assert_output --partial "--chunks 17 is more than the batch of 16"
	# rank 0 reads 64 samples, rank 1 40: the job stops before training
	run $MPIRUN -np 2 sh -c 'n=64; [ "$OMPI_COMM_WORLD_RANK" = 0 ] || n=40
		exec train-unet '"$T"' -e 1 -o "$1" i$n.npy m$n.npy' sh "$d/x.model"
	assert_failure
	assert_output --partial "the ranks differ in the number of training samples"
	[ ! -e "$d/x.model" ]
	# standard input reaches rank 0 alone
	run $MPIRUN -np 2 train-unet $T -e 1 -o "$d/x.model" - m40.npy < i40.npy
	assert_failure
	assert_output --partial "under mpirun every rank reads the data: give files, not standard input"
	[ ! -e "$d/x.model" ]
}

@test "mpi: a killed rank ends the job; rank 0's last model is whole and resumes on 1 process" {
	local d=$BATS_TEST_TMPDIR mp c i k rc
	$MPIRUN -np 2 train-unet $T --lr 0.01 -e 100000 -o "$d/m.model" i64.npy m64.npy \
		2> "$d/err" &
	mp=$!
	for i in $(seq 400); do
		[ -e "$d/m.model" ] && break
		sleep 0.05
	done
	# rank 1 is the child of mpirun with OMPI_COMM_WORLD_RANK=1
	for c in $(pgrep -P $mp); do
		if tr '\0' '\n' < /proc/$c/environ | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
			kill -9 $c
		fi
	done
	rc=0
	wait $mp || rc=$?
	[ "$rc" -ne 0 ]
	run cat "$d/err"
	assert_output --partial "process rank 1"
	assert_output --partial "signal 9"
	# the model is whole (predict checks size, header and checksum)
	predict -j 1 "$d/m.model" i64.npy > "$d/p.npy"
	k=$(header "$d/m.model" epoch)
	[ "$k" -ge 1 ]
	assert_equal "$(header "$d/m.model" chunks)" 2
	# resumed on one process to k+1 epochs, it equals 2 ranks' k+1 in one go
	train-unet -j 1 --resume "$d/m.model" -e $((k + 1)) -o "$d/m.model" i64.npy m64.npy 2> /dev/null
	$MPIRUN -np 2 train-unet $T --lr 0.01 -e $((k + 1)) -o "$d/ref.model" i64.npy m64.npy 2> /dev/null
	cmp "$d/ref.model" "$d/m.model"
}

@test "mpi: train-fcn and train-cnn: 2 ranks give the bytes of one process with --chunks 2" {
	local d=$BATS_TEST_TMPDIR
	train-fcn --filters 2 -j 1 -b 16 --classes 2 -e 1 --chunks 2 -o "$d/one.fcn" i64.npy m64.npy \
		2> /dev/null
	$MPIRUN -np 2 train-fcn --filters 2 -j 1 -b 16 --classes 2 -e 1 -o "$d/two.fcn" i64.npy m64.npy \
		2> /dev/null
	cmp "$d/one.fcn" "$d/two.fcn"
	# labels: whether a digit covers more than the median of pixels
	py 'm = load("m64.npy").reshape(64, -1).sum(1); np.save("y64.npy", (m > np.median(m)).astype(np.uint8))'
	C="--filters 4 --stages 2 -j 1 -b 16 -e 1"
	train-cnn $C --chunks 2 -o "$d/one.cnn" i64.npy y64.npy 2> /dev/null
	$MPIRUN -np 2 train-cnn $C -o "$d/two.cnn" i64.npy y64.npy 2> /dev/null
	cmp "$d/one.cnn" "$d/two.cnn"
}
