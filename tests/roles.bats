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
