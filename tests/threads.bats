#!/usr/bin/env bats
# -j/--threads, the same for every tool that computes on several threads
# (cli_threads): a count out of range, or more threads than the process can
# run here, is a usage error in one line of ours (never libgomp's message).
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	pick --first 8 "$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz" > i8.npy
	otsu i8.npy > m8.npy
	train-unet -j 1 -e 1 --depth 1 --filters 2 -b 8 -o unet.model i8.npy m8.npy 2> /dev/null
	train-mlp -j 1 --layers 784,4,784 --activations relu,sigmoid -e 1 -b 8 \
		-o mlp.model i8.npy i8.npy 2> /dev/null
}

setup() {
	cd "$BATS_FILE_TMPDIR"
	T=$BATS_TEST_TMPDIR
}

# each threaded tool, with ARGS after -j N
runs() {
	printf '%s\n' "predict -j %s unet.model i8.npy" "predict -j %s mlp.model i8.npy" \
		"encode -j %s mlp.model i8.npy" \
		"train-unet -j %s -e 1 --filters 2 -o $T/u.model i8.npy m8.npy" \
		"train-mlp -j %s --layers 784,4,784 --activations relu,sigmoid -e 1 -o $T/m.model i8.npy i8.npy"
}

@test "threads: -j out of 1..256 is a usage error in every threaded tool" {
	local fmt j
	while read -r fmt; do
		for j in 0 -1 257 100000 x 2x; do
			# shellcheck disable=SC2086
			run ${fmt/\%s/$j}
			assert_failure 2
			assert_line --index 0 "${fmt%% *}: --threads: '$j' is not an integer in 1..256"
		done
	done < <(runs)
}

@test "threads: more threads than the process can run is one usage line, not libgomp's, in every threaded tool" {
	[ -z "${SEGPIPE_SANITIZE:-}" ] || skip "ulimit -v is ruled out under AddressSanitizer"
	local fmt j
	# about 300 MB of address space: each thread's stack takes 8 MB of it
	while read -r fmt; do
		for j in 256 200 100; do
			# shellcheck disable=SC2086
			run bash -c 'ulimit -v 300000; exec timeout 20 "$@" 2>&1 > /dev/null' _ ${fmt/\%s/$j}
			assert_failure 2
			assert_line --index 0 --regexp "^${fmt%% *}: --threads $j: this process can run only [0-9]+ threads here \(.+\)$"
			assert_line --index 1 "Try '${fmt%% *} --help' for more information."
			assert_equal "${#lines[@]}" 2
			refute_output --partial libgomp
		done
		# shellcheck disable=SC2086
		run timeout 20 ${fmt/\%s/2}
		assert_success
	done < <(runs)
	run ls -A "$T"
	refute_output --partial .tmp
}

# the environment the tool's own process ended up with (cli_wait_policy
# re-executes it): predict blocked on a FIFO that no one writes yet
policy_env() {
	mkfifo "$T/in"
	env "$@" predict -j 1 unet.model "$T/in" > /dev/null 2>&1 &
	local pid=$! i
	for i in $(seq 50); do
		tr '\0' '\n' < "/proc/$pid/environ" 2> /dev/null | grep -q '^OMP_WAIT_POLICY=' && break
		sleep 0.1
	done
	tr '\0' '\n' < "/proc/$pid/environ" | grep -E '^(OMP_WAIT_POLICY|GOMP_SPINCOUNT)=' | sort
	: > "$T/in"
	wait "$pid" || true
}

@test "threads: a threaded tool picks a wait policy: ACTIVE with GOMP_SPINCOUNT 10000, or PASSIVE" {
	run policy_env
	assert_success
	# which one depends on what else runs at its start: either is whole
	if [ "${lines[0]}" = GOMP_SPINCOUNT=10000 ]; then
		assert_line --index 1 OMP_WAIT_POLICY=ACTIVE
		assert_equal "${#lines[@]}" 2
	else
		assert_output OMP_WAIT_POLICY=PASSIVE
	fi
}

@test "threads: the user's OMP_WAIT_POLICY and GOMP_SPINCOUNT are kept" {
	run policy_env OMP_WAIT_POLICY=PASSIVE
	assert_output OMP_WAIT_POLICY=PASSIVE
	rm -f "$T/in"
	run policy_env OMP_WAIT_POLICY=ACTIVE GOMP_SPINCOUNT=77
	assert_line --index 0 GOMP_SPINCOUNT=77
	assert_line --index 1 OMP_WAIT_POLICY=ACTIVE
}
