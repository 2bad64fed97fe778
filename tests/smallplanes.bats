#!/usr/bin/env bats
# Feature maps one pixel high or wide, and 1x1 (issue: memory corruption on
# small planes): tiny images through a U-Net, and U-Nets deep enough that
# their bottleneck is 1x1 on MNIST-size images. Every size a tool accepts
# gives finite numbers of the right shape; make sanitize runs these under
# AddressSanitizer.
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	local images="$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz"
	pick --first 32 "$images" > i32.npy
	otsu i32.npy > m32.npy
	train-unet --filters 4 -j 2 -b 16 -e 1 -o d2.model i32.npy m32.npy 2> /dev/null
}

# finite SHAPE FILE: the stream's shape is SHAPE and every value is finite
finite() {
	py 'a = load(sys.argv[2]); print(a.shape == eval(sys.argv[1]) and bool(np.isfinite(a).all()))' "$1" "$2"
}

@test "smallplanes: predict through a U-Net of depth 2 on 4x4, 1x1, 4x2, 1x7 and 3x1 images" {
	cd "$BATS_FILE_TMPDIR"
	for hw in 4x4 1x1 4x2 1x7 3x1; do
		h=${hw%x*} w=${hw#*x}
		py 'np.save(sys.stdout.buffer, np.random.default_rng(1).random((5, int(sys.argv[1]), int(sys.argv[2])), dtype=np.float32))' "$h" "$w" > s$hw.npy
		run sh -c "predict -j 2 d2.model s$hw.npy > p$hw.npy"
		assert_success
		run finite "(5, $h, $w)" p$hw.npy
		assert_output True
	done
}

@test "smallplanes: predict on a 1x1 PGM and a 4x2 PBM" {
	cd "$BATS_FILE_TMPDIR"
	printf 'P2\n1 1\n255\n200\n' > one.pgm
	run predict d2.model one.pgm
	assert_success
	printf 'P1\n4 2\n0 1 1 0\n1 0 0 1\n' > four.pbm
	predict d2.model four.pbm > four.npy
	run finite "(1, 2, 4)" four.npy
	assert_output True
}

@test "smallplanes: train-unet --depth 5 on 28x28 (a 1x1 bottleneck) trains and predicts" {
	cd "$BATS_FILE_TMPDIR"
	run train-unet --depth 5 --filters 2 -j 2 -b 8 -e 1 -o d5.model i32.npy m32.npy
	assert_success
	predict -j 2 d5.model i32.npy > p5.npy
	run finite "(32, 28, 28)" p5.npy
	assert_output True
}

@test "smallplanes: batch 1 of 1x1 images (one value per batch-norm channel) trains" {
	cd "$BATS_FILE_TMPDIR"
	py 'np.save(sys.stdout.buffer, np.random.default_rng(2).random((4, 1, 1), dtype=np.float32))' > x11.npy
	py 'np.save(sys.stdout.buffer, (np.random.default_rng(3).random((4, 1, 1)) > 0.5).astype(np.uint8))' > y11.npy
	run train-unet --depth 2 --filters 2 -j 1 -b 1 -e 1 -o b1.model x11.npy y11.npy
	assert_success
	predict b1.model x11.npy > pb1.npy
	run finite "(4, 1, 1)" pb1.npy
	assert_output True
}
