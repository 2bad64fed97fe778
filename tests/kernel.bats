#!/usr/bin/env bats
# The kernel paths (lib/kern): SEGPIPE_KERNEL forces one; every path this
# CPU can run trains and predicts, twice to the same bytes; a path it
# cannot run, or an unknown name, is one error line.
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	pick --first 48 "$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz" > x.npy
	otsu x.npy > m.npy
}

paths() {
	"$ROOT/tests/unit/test_kern" --paths
}

@test "kernel: every path this CPU runs gives the same model bytes twice, and predicts" {
	cd "$BATS_FILE_TMPDIR"
	n=0
	for p in $(paths); do
		for r in 1 2; do
			SEGPIPE_KERNEL=$p train-unet --filters 4 -b 16 -e 1 -j 2 -o $p.$r.model x.npy m.npy 2> /dev/null
		done
		cmp $p.1.model $p.2.model
		SEGPIPE_KERNEL=$p predict -j 2 $p.1.model x.npy > $p.pred.npy
		run py 'a = load(sys.argv[1]); print(a.shape, bool(np.isfinite(a).all()))' $p.pred.npy
		assert_output "(48, 28, 28) True"
		n=$((n + 1))
	done
	for p in portable avx2 avx512 avx512-bf16 amx; do
		paths | grep -qx "$p" || echo "# $p: not on this CPU, not tested here" >&3
	done
	[ "$n" -ge 1 ]
}

@test "kernel: the paths agree on a model's predictions within 1e-3 (fp32)" {
	cd "$BATS_FILE_TMPDIR"
	best=$(paths | tail -n 1)
	SEGPIPE_KERNEL=$best train-unet --precision fp32 --filters 4 -b 16 -e 1 -j 1 -o ref.model \
		x.npy m.npy 2> /dev/null
	SEGPIPE_KERNEL=$best predict ref.model x.npy > ref.npy
	for p in $(paths); do
		SEGPIPE_KERNEL=$p predict ref.model x.npy > p.npy
		run py 'print(float(np.abs(load(sys.argv[1]) - load(sys.argv[2])).max()) < 1e-3)' ref.npy p.npy
		assert_output True
	done
}

@test "kernel: an unknown SEGPIPE_KERNEL is one error line, exit 1" {
	cd "$BATS_FILE_TMPDIR"
	run env SEGPIPE_KERNEL=sse9 train-unet -e 1 -o no.model x.npy m.npy
	assert_failure 1
	assert_output --partial "SEGPIPE_KERNEL=sse9: unknown kernel path"
	[ "${#lines[@]}" -eq 1 ]
}

@test "kernel: a path this CPU cannot run is one error line naming the best it has" {
	cd "$BATS_FILE_TMPDIR"
	top=$(paths | tail -n 1)
	[ "$top" != amx ] || skip "this CPU runs every path (amx included)"
	run env SEGPIPE_KERNEL=amx train-unet -e 1 -o no.model x.npy m.npy
	assert_failure 1
	assert_output --partial "SEGPIPE_KERNEL=amx: this CPU cannot run it (best here: $top)"
	[ "${#lines[@]}" -eq 1 ]
	[ ! -e no.model ]
}
