#!/usr/bin/env bats
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	PATH="$BATS_TEST_DIRNAME/../bin:$PATH"
	pick --first 32 "$BATS_TEST_DIRNAME/fixtures/mnist-test-500-images.idx.gz" > i.npy
	otsu i.npy > m.npy
}

# value MODEL KEY: the value modelinfo gives KEY
value() {
	modelinfo "$1" | sed -n "s/^$2  *//p"
}

@test "modelinfo: --help, --version, usage errors, a bad file" {
	run modelinfo --help
	assert_success
	assert_line --index 0 "Usage: modelinfo MODEL..."
	run modelinfo --version
	assert_output --regexp "^modelinfo \(segpipe\) [0-9.]+$"
	run modelinfo
	assert_failure 2
	run modelinfo --bogus x
	assert_failure 2
	cd "$BATS_FILE_TMPDIR"
	run modelinfo i.npy
	assert_failure 1
	assert_output --partial "i.npy"
	[ "${#lines[@]}" -eq 1 ]
	run modelinfo missing.model
	assert_failure 1
}

@test "modelinfo: a U-Net's kind, shapes, parameters, settings and progress" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-unet --filters 4 --depth 2 -j 1 -b 8 -e 3 --lr 0.01 --cosine --val-fraction 0.25 \
		-s 5 --precision fp32 -o "$d/u.model" i.npy m.npy 2> /dev/null
	assert_equal "$(value "$d/u.model" kind)" "unet: depth 2, 4 filters, relu"
	assert_equal "$(value "$d/u.model" input)" "(28,28) float32 intensities (trained on 28x28: width x height)"
	assert_equal "$(value "$d/u.model" output)" "(28,28) probabilities (bce: sigmoid of the logits)"
	# the parameter count is the model's, and it is the numbers in the file
	local n
	n=$(sed -n '/^$/q; s/^nparams //p' "$d/u.model")
	assert_equal "$(value "$d/u.model" parameters | cut -d, -f1)" "$n"
	# predict's output has the shape modelinfo says
	run py 'print(load(sys.argv[1]).shape[1:])' <(predict -j 1 "$d/u.model" i.npy)
	assert_output "(28, 28)"
	assert_equal "$(value "$d/u.model" training)" "epochs 3, batch 8, lr 0.01 (cosine), weight decay 0, seed 5, precision fp32"
	assert_equal "$(value "$d/u.model" progress)" "3 of 3 epochs done"
	assert_equal "$(value "$d/u.model" loss)" "bce"
	# the best validation epoch and its loss as the header has them
	local best
	best=$(sed -n '/^$/q; s/^best_epoch //p' "$d/u.model")
	value "$d/u.model" best | grep -q "at epoch $best: the weights this file holds"
	assert_equal "$(value "$d/u.model" resumable)" "yes (Adam state kept)"
}

@test "modelinfo: an MLP, a ce U-Net, an interrupted checkpoint, two files" {
	cd "$BATS_FILE_TMPDIR"
	local d=$BATS_TEST_TMPDIR
	train-mlp --layers 784,16,2,16,784 --activations relu,sigmoid,relu,sigmoid -j 1 -e 1 \
		-o "$d/a.model" i.npy i.npy 2> /dev/null
	assert_equal "$(value "$d/a.model" kind)" "mlp: layers 784,16,2,16,784, activations relu,sigmoid,relu,sigmoid"
	assert_equal "$(value "$d/a.model" input)" "(784) float32 values (an image of 784 pixels, flattened)"
	# 784*16+16 + 16*2+2 + 2*16+16 + 16*784+784
	assert_equal "$(value "$d/a.model" parameters)" "25970, and 0 batch-norm statistics (0.10 MB of float32)"
	assert_equal "$(value "$d/a.model" val_loss)" "none (trained without validation data)"
	py 'a = load(sys.argv[1]); np.save(open(sys.argv[2], "wb"), (a > 128).astype(np.uint8) * 2)' i.npy "$d/c.npy"
	train-unet --filters 2 --depth 1 -j 1 -e 1 --loss ce --classes 3 -o "$d/c.model" i.npy "$d/c.npy" 2> /dev/null
	assert_equal "$(value "$d/c.model" loss)" "ce, 3 classes"
	value "$d/c.model" output | grep -q '^(3,28,28) class probabilities'
	# a checkpoint inside an epoch (as Ctrl-C leaves it): the header's partial count
	model_edit "$d/a.model" "$d/p.model" "" "partial 8"
	model_edit "$d/p.model" "$d/p.model" "epoch 1" "epoch 0"
	assert_equal "$(value "$d/p.model" progress)" "0 of 1 epochs done, and 8 samples of epoch 1: a checkpoint of an interrupted run (go on with --resume)"
	# several files: a blank line between
	run modelinfo "$d/a.model" "$d/c.model"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | grep -c '^model ')" 2
}

@test "modelinfo: man page lints clean" {
	run mandoc -T lint -W warning "$BATS_TEST_DIRNAME/../man/man1/modelinfo.1"
	assert_output ""
}
