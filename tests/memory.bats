#!/usr/bin/env bats
# Memory follows the data: one sample holds at most 2^22 elements
# (SEGPIPE_SAMPLE_MAX raises it), every streaming tool needs a few bytes an
# element of one sample and no more, and batch buffers are sized by the
# samples there are, not by --batch (segpipe-stream(5)).
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	"$PY" -c "import numpy as np
np.save('lim.npy', np.zeros((1, 2048, 2048), np.uint8))          # 2^22: the limit
np.save('lim-f4.npy', np.ones((1, 1, 4194304), np.float32))      # a long row (1 is a mask, a probability and an intensity)
np.save('bomb.npy', np.zeros((1, 8192, 8192), np.uint8))        # 2^26
np.save('bomb-vec.npy', np.zeros((1, 4194305), np.uint8))       # 2^22 + 1"
	gzip -9 lim.npy lim-f4.npy bomb.npy bomb-vec.npy
	{ printf 'P5\n8192 8192\n255\n'; head -c 67108864 /dev/zero; } | gzip -9 > bomb.pgm.gz
	pick --first 64 "$IMAGES" > i64.npy
	otsu i64.npy > m64.npy
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

# rss_below KB CMD...: CMD succeeds with a peak resident set under KB
# kilobytes (/usr/bin/time's %M; not checked under make sanitize, whose
# shadow memory and quarantine are not the tool's)
rss_below() {
	local kb=$1 got
	shift
	/usr/bin/time -o rss -f %M "$@" >/dev/null 2>err || { cat err; return 1; }
	got=$(tail -1 rss)
	[ -n "${SEGPIPE_SANITIZE:-}" ] || [ "$got" -lt "$kb" ] ||
		{ echo "$*: peak RSS $got KB, not below $kb KB"; return 1; }
}

@test "memory: a 65 KB gzip of one 2^26-element sample is refused at its header by every tool" {
	for f in bomb.npy.gz bomb-vec.npy.gz bomb.pgm.gz; do
		for cmd in "otsu -P $f" "otsu --thresholds $f" "iou -C 2 $f $f" "iou $f $f" "mix $f $f" \
			   "mix --shuffle $f $f" "occlude $f $f" "totsv $f" "pick --shuffle $f" \
			   "pad --size 8x8 $f" "chan -c 0 $f" "stack $f $f" "montage $f" "mse $f $f" \
			   "clip $f"; do
			run bash -c "$MEMLIMIT"'; exec timeout 10 "$@" 2>&1 >/dev/null' _ $cmd
			assert_failure 1
			assert_equal "${#lines[@]}" 1
			assert_output --regexp 'too large'
		done
	done
}

@test "memory: a sample at the limit passes every tool in under 25 bytes an element" {
	# 2^22 elements: 25 bytes each is 100 MB
	for f in lim.npy.gz lim-f4.npy.gz; do
		for cmd in "otsu $f" "iou $f $f" "mix $f $f" "mix --shuffle $f $f" "totsv $f" \
			   "pick --shuffle $f" "pick -n 1 $f" "mse $f $f"; do
			rss_below 102400 $cmd
		done
	done
	# --precision is for floats (on uint8 it is a usage error)
	rss_below 102400 totsv --precision 17 lim-f4.npy.gz
	f=lim.npy.gz
	for cmd in "otsu -P $f" "occlude $f $f" "pad --size 2048x2048 $f" "chan -c 0 $f"; do
		rss_below 102400 $cmd
	done
	rss_below 102400 iou -C 2 lim.npy.gz lim.npy.gz
	rss_below 102400 montage lim.npy.gz
}

@test "memory: tools that make samples refuse sizes over the limit, before allocating" {
	for cmd in "mkmask --kind vstripe --size 8192x8192 --width 3 -n 1" \
		   "mkmask --kind pixels --size 4096x2048 --fraction 0.5 -n 1" \
		   "pad --size 8192x8192 i64.npy" "montage --scale 64 i64.npy" \
		   "montage --cols 64 --scale 2 --gap 1024 i64.npy"; do
		run bash -c "$MEMLIMIT"'; exec timeout 10 "$@" 2>&1 >/dev/null' _ $cmd
		assert [ "$status" -eq 1 -o "$status" -eq 2 ]
		assert_line --index 0 --regexp 'too large'
	done
	rss_below 102400 mkmask --kind vstripe --size 2048x2048 --width 3 -n 2
	rss_below 102400 mkmask --kind vstripe --size 2048x2048 --width 3 -n 2 -P
}

@test "memory: SEGPIPE_SAMPLE_MAX raises the limit, and a bad value is one clear error" {
	run env SEGPIPE_SAMPLE_MAX=67108864 otsu --thresholds bomb.npy.gz
	assert_success
	assert_equal "${#lines[@]}" 1
	run env SEGPIPE_SAMPLE_MAX=1000 otsu --thresholds lim.npy.gz
	assert_failure 1
	assert_output --regexp 'too large'
	for v in 0 -1 x 12x 4294967296; do
		run env SEGPIPE_SAMPLE_MAX=$v otsu --thresholds lim.npy.gz
		assert_failure 1
		assert_output "otsu: SEGPIPE_SAMPLE_MAX: '$v' is not an integer in 1..2147483648"
	done
}

@test "memory: batch buffers follow the samples there are, not --batch" {
	local t='-j 1 --filters 2 --depth 1 -e 1'
	rss_below 204800 train-unet $t -b 65536 -o u.model i64.npy m64.npy
	rss_below 204800 train-unet $t -b 65536 --val i64.npy m64.npy -o u.model i64.npy m64.npy
	rss_below 204800 train-mlp -j 1 --layers 784,2,784 --activations sigmoid,linear -e 1 \
		-b 65536 -o mlp.model i64.npy i64.npy
	# the same model as with a batch of all 64
	train-unet $t -b 64 -o u64.model i64.npy m64.npy 2>/dev/null
	predict --threshold 0.5 u.model i64.npy | cksum > a.ck
	predict --threshold 0.5 u64.model i64.npy | cksum > b.ck
	cmp a.ck b.ck
}
