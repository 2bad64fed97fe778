#!/usr/bin/env bats
# Masks, class maps and labels are read by the stream layer as the values
# they store (a PGM's stored value whatever its maxval), and checked there
# (input_read_ints, ROLE_MASK): train-unet, iou, compose and pick all
# refuse a value outside its role with one line naming it.
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	pick --first 8 "$IMAGES" > i8.npy
	otsu i8.npy > m8.npy
	pick --first 8 "$LABELS" > l8.npy
	py - <<'PYEOF'
m = load('m8.npy').astype(np.float32)            # 0/1
np.save('m-f01.npy', m)
np.save('m-f0255.npy', m * 255)                   # the issue's case
np.save('m-i16.npy', (m * 255).astype(np.int16))
for name, v in (('two', 2), ('neg', -0.5), ('nan', np.nan), ('inf', np.inf)):
    b = m.copy(); b[3, 5, 7] = v; np.save('m-%s.npy' % name, b)
np.save('m-u0255.npy', (m * 255).astype(np.uint8))
c = m.astype(np.uint8)                            # classes 0/1
np.save('c-u8.npy', c)
np.save('c-f4.npy', c.astype(np.float32))
for name, v in (('256', 256), ('frac', 1.5), ('neg', -0.5), ('nan', np.nan), ('big', 2**31)):
    b = c.astype(np.float64); b[5, 10, 11] = v; np.save('c-%s.npy' % name, b)
# a class map as PGM of maxval 15: class 8 stays 8, whatever the maxval
with open('c8-m15.pgm', 'wb') as f:
    for im in c:
        f.write(b'P5\n28 28\n15\n' + (im * 8).tobytes())
np.save('c8.npy', c * 8)
l = load('l8.npy')
np.save('l-f4.npy', l.astype(np.float32))
for name, v in (('frac', 3.5), ('neg', -1), ('nan', np.nan), ('ten', 10)):
    b = l.astype(np.float32); b[6] = v; np.save('l-%s.npy' % name, b)
PYEOF
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

T='-j 1 --filters 2 --depth 1 -e 1 -b 8'

# refused REGEX CMD...: exit 1, one line "TOOL: ... REGEX ...", no model
refused() {
	local re=$1
	shift
	rm -f x.model
	run "$@"
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output --regexp "^$1: .*$re"
	[ ! -e x.model ]
}

@test "roles: bce targets are masks: uint8 nonzero is 1, others must lie in 0..1" {
	for m in m8.npy m-f01.npy m-u0255.npy; do
		run train-unet $T -o x.model i8.npy $m
		assert_success
	done
	for m in m-f0255.npy m-i16.npy m-two.npy m-neg.npy; do
		refused 'mask value [-0-9.naif]+ at element [0-9]+ is not in 0\.\.1 .*sample [0-9]+\)$' \
			train-unet $T -o x.model i8.npy $m
	done
	# NaN and Inf are caught first by the trainer's check of every value
	for m in m-nan.npy m-inf.npy; do
		refused "a non-finite value \\((nan|inf)\\) in the samples \\($m, sample 3\\)\$" \
			train-unet $T -o x.model i8.npy $m
	done
	refused 'mask value 2 at element 147 is not in 0\.\.1 .*\(m-two\.npy, sample 3\)$' \
		train-unet $T -o x.model i8.npy m-two.npy
	# a validation target too
	refused 'mask value .*\(m-two\.npy, sample 3\)$' \
		train-unet $T --val i8.npy m-two.npy -o x.model i8.npy m8.npy
}

@test "roles: ce class maps are integers 0..N-1, whatever their dtype" {
	run train-unet $T --loss ce --classes 2 -o x.model i8.npy c-f4.npy
	assert_success
	for c in 256 frac neg nan big; do
		[ $c = nan ] && re="a non-finite value \\(nan\\) in the samples" ||
			re="class value [-0-9.naef+]+ at element 291 is not an integer in 0\\.\\.1"
		refused "$re \\(c-$c\\.npy, sample 5\\)\$" \
			train-unet $T --loss ce --classes 2 -o x.model i8.npy c-$c.npy
		refused "TRUTH value [-0-9.naef+]+ at element 291 is not an integer in 0\\.\\.1 \\(c-$c\\.npy, sample 5\\)\$" \
			iou -C 2 c-u8.npy c-$c.npy
		refused "PRED value [-0-9.naef+]+ at element 291 is not an integer in 0\\.\\.1 \\(c-$c\\.npy, sample 5\\)\$" \
			iou -C 2 c-$c.npy c-u8.npy
	done
}

@test "roles: a PGM class map is its stored values, whatever the maxval" {
	refused 'class value 8 at element [0-9]+ is not an integer in 0\.\.1 \(c8-m15\.pgm, sample 0\)$' \
		train-unet $T --loss ce --classes 2 -o x.model i8.npy c8-m15.pgm
	refused 'TRUTH value 8 at element [0-9]+ is not an integer in 0\.\.1' iou -C 2 c-u8.npy c8-m15.pgm
	run train-unet $T --loss ce --classes 9 -o x.model i8.npy c8-m15.pgm
	assert_success
	# iou and train-unet read it alike: as the uint8 npy of the same values
	run iou -C 9 c8-m15.pgm c8.npy
	assert_success
	assert_line 'mean_iou	1'
}

@test "roles: labels are integers, for compose and pick alike" {
	run compose -n 3 -m c.npy i8.npy l-f4.npy
	assert_success
	run pick --labels l-f4.npy --keep 7 i8.npy
	assert_success
	for l in frac neg nan ten; do
		refused "label value [-0-9.na]+ at element 0 is not an integer in 0\\.\\.9 \\(l-$l\\.npy, sample 6\\)\$" \
			compose -n 50 -m c.npy i8.npy l-$l.npy
	done
	for l in frac neg nan; do
		refused "label value [-0-9.na]+ at element 0 is not an integer in 0\\.\\.[0-9]+ \\(l-$l\\.npy, sample 6\\)\$" \
			pick --labels l-$l.npy --keep 7 i8.npy
		refused "label value [-0-9.na]+ at element 0 is not an integer in 0\\.\\.[0-9]+ \\(l-$l\\.npy, sample 6\\)\$" \
			pick --shuffle --labels l-$l.npy --keep 7 i8.npy
	done
}

# ---------- issue 14: the silent wrong numbers ----------

# the operands of the issue's cases, from the 8 images: probabilities p,
# the images as floats 0..255, one image saved as (28,28)
roles14() {
	py - <<'PYEOF'
i = load('i8.npy'); m = load('m8.npy')
rng = np.random.default_rng(3)
p = np.clip(m + rng.normal(0, 0.2, m.shape), 0, 1).astype(np.float32)
np.save('p8.npy', p)
np.save('i-f255.npy', i.astype(np.float32))
np.save('i-f1.npy', (i / 255).astype(np.float32))
np.save('one.npy', i[0])
np.save('one-chw.npy', i[:1])
print('%.8g' % np.mean((p.astype(np.float64) - m) ** 2))
PYEOF
}

@test "roles: mse of probabilities against uint8 0/1 masks is an error naming --masks; --masks gives numpy's value" {
	want=$(roles14)
	refused 'B is a uint8 mask \(values 0 and 1 only\), not an image: read as intensities it would be 0 and 1/255; 0/1 masks: mse --masks reads uint8 nonzero as 1 \(m8\.npy, sample 0\)$' \
		mse p8.npy m8.npy
	refused 'A is a uint8 mask .*\(m8\.npy, sample 0\)$' mse m8.npy p8.npy
	run mse --masks p8.npy m8.npy
	assert_success
	# numpy's mean of (p - m)^2 in double; printed with 8 digits (%.8g)
	assert_line -n 0 "mse	$want"
	# images are intensities as before; -m refuses what is not a mask
	run mse i8.npy i-f1.npy
	assert_success
	assert_line -n 0 --regexp '^mse	[0-9.e-]+$'
	refused 'A value [1-9][0-9]+ at element [0-9]+ is not in 0\.\.1 \(uint8 masks: nonzero is 1; others: 0\.\.1\) \(i-f255\.npy, sample 0\)$' mse --masks i-f255.npy p8.npy
}

@test "roles: iou with PRED and TRUTH swapped, or an image as PRED, is an error; -t takes scores in their units" {
	roles14 > /dev/null
	run iou p8.npy m8.npy
	assert_success
	refused 'TRUTH value 0\.[0-9]+ at element [0-9]+ is not a mask value 0 or 1 \(uint8: 0 or 255\) \(TRUTH is a 0/1 mask: swapped PRED and TRUTH\?\) \(p8\.npy, sample 0\)$' \
		iou m8.npy p8.npy
	refused 'PRED value [0-9]+ at element [0-9]+ is not a probability in 0\.\.1 or a mask value 0 or 1 \(uint8: 0 or 255\) \(PRED is probabilities or a mask: an image\? swapped PRED and TRUTH\? scores in other units need -t T\) \(i8\.npy, sample 0\)$' \
		iou i8.npy m8.npy
	refused 'PRED value [1-9][0-9]+ at element' iou i-f255.npy m8.npy
	refused 'TRUTH value [0-9]+ at element [0-9]+ is not a mask value' iou m8.npy i8.npy
	# the images thresholded at 127 in their own units with -t: otsu-like masks
	run iou -t 127 i8.npy m8.npy
	assert_success
	# 0/255 PGM masks are masks, as PRED and as TRUTH
	otsu -P i8.npy > m8.pgm
	run iou m8.pgm m8.pgm
	assert_success
	assert_line -n 0 'iou	1'
}

@test "roles: otsu refuses float intensities outside 0..1 (a 0..255 image left as floats)" {
	roles14 > /dev/null
	refused 'intensity value [1-9][0-9]+ at element [0-9]+ is not in 0\.\.1 \(float intensities are 0\.\.1: divide a 0\.\.255 image by 255, or clip\(1\) it\) \(i-f255\.npy, sample 0\)$' \
		otsu --thresholds i-f255.npy
	otsu --thresholds i8.npy > u8.t
	otsu --thresholds i-f1.npy > f1.t
	cmp u8.t f1.t
}

@test "roles: one image saved as (28,28) is not 28 vectors to otsu; (1,28,28) is one image" {
	roles14 > /dev/null
	refused 'samples of shape 28 are not images \(one\.npy\): one image saved as \(H,28\) is H samples of 28 values; save it as \(1,H,28\), e\.g\. np\.save\(f, image\[None\]\)$' \
		otsu one.npy
	run otsu --thresholds one-chw.npy
	assert_success
	assert_output "$(otsu --thresholds i8.npy | head -1)"
}

@test "roles: one image saved as (28,28) gets the same hint from predict, the trainers and occlude" {
	roles14 > /dev/null
	py 'm = load("m8.npy"); np.save("one-m.npy", m[0]); np.save("l28.npy", np.zeros(28, np.uint8))'
	train-unet $T -o u.model i8.npy m8.npy 2> /dev/null
	hint() {
		echo "samples of shape 28 are not images \\($1\\): one image saved as \\(H,28\\) is H samples of 28 values; save it as \\(1,H,28\\), e\\.g\\. np\\.save\\(f, image\\[None\\]\\)\$"
	}
	refused "$(hint one.npy)" predict -j 1 u.model one.npy
	refused "$(hint one.npy)" train-unet $T -o x.model one.npy one-m.npy
	pick --first 28 "$IMAGES" > i28.npy             # as many samples as one-m.npy
	refused "$(hint one-m.npy)" train-unet $T -o x.model i28.npy one-m.npy
	refused "$(hint one.npy)" train-fcn -j 1 -e 1 -b 8 --classes 2 -o x.model one.npy one-m.npy
	refused "$(hint one.npy)" train-cnn -j 1 -e 1 -b 8 -o x.model one.npy l28.npy
	refused "$(hint one.npy)" occlude m8.npy one.npy
	refused "$(hint one-m.npy)" occlude one-m.npy i8.npy
	# saved as (1,28,28) it is one image
	run predict -j 1 u.model one-chw.npy
	assert_success
}

@test "roles: occlude's MASKS are 0/1 masks: an image as MASKS (swapped operands) is an error" {
	roles14 > /dev/null
	refused 'MASKS value [0-9]+ at element [0-9]+ is not a mask value 0 or 1 \(uint8: 0 or 255\) \(MASKS come first: swapped MASKS and IMAGES\?\) \(i8\.npy, sample 0\)$' \
		occlude i8.npy m8.npy
	refused 'MASKS value 0\.[0-9]+ at element [0-9]+ is not a mask value' occlude p8.npy i8.npy
	# 0/1 uint8, 0/255 PGM and 0/1 float masks hide the same pixels
	occlude m8.npy i8.npy > o-u8.npy
	otsu -P m8.npy > m8.pgm
	occlude m8.pgm i8.npy | cmp - o-u8.npy
	occlude m-f01.npy i8.npy | cmp - o-u8.npy
}

@test "roles: an option that does nothing in the combination given is a usage error" {
	# status 2, one line and the --help hint
	useless() {
		local re=$1
		shift
		run "$@"
		assert_failure 2
		assert_line -n 0 --regexp "^$1: $re"
	}
	useless '--seed does nothing without --shuffle$' pick --seed 3 -n 2 i8.npy
	useless '--seed does nothing without --shuffle$' pick -s 3 -n 2 i8.npy
	useless '--seed does nothing without --shuffle$' mix -s 3 i8.npy i8.npy
	useless '--seed does nothing without --noise$' occlude -s 3 m8.npy i8.npy
	useless '--seed does nothing without --noise$' occlude -s 3 -f 0.5 m8.npy i8.npy
	useless '--pgm does nothing with --thresholds \(no masks are written\)$' otsu --thresholds -P i8.npy
	useless '--fill does nothing with --crop \(no pixels are new\)$' pad --crop --size 20x20 -f 3 i8.npy
	# with what they need they work
	run pick --shuffle --seed 3 -n 2 i8.npy
	assert_success
	run mix --shuffle -s 3 i8.npy i8.npy
	assert_success
	run occlude --noise -s 3 m8.npy i8.npy
	assert_success
}
