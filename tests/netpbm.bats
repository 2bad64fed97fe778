#!/usr/bin/env bats
# Folders of PNG or JPEG files, through netpbm (the recipe of the README and
# segpipe(7)): pngtopnm in a loop makes one PGM stream, which every tool
# reads; pamsplit and pnmtopng turn a PGM stream back into files. A PNG or
# JPEG given as it is gets an error that says how to convert it.
load helper

setup_file() {
	cd "$BATS_FILE_TMPDIR"
	mkdir -p png
	# five digits as PNG files, made with netpbm's own pnmtopng
	pick --first 5 -P "$IMAGES" > five.pgm
	pamsplit -quiet five.pgm 'png/d%d.pgm'
	for f in png/d*.pgm; do pnmtopng "$f" > "${f%.pgm}.png"; rm "$f"; done
	pick --first 5 "$IMAGES" > five.npy
}

setup() {
	cd "$BATS_FILE_TMPDIR"
}

@test "netpbm: a folder of PNGs through pngtopnm is one stream, and back to PNGs with pamsplit" {
	cd png
	# the recipe, as the README gives it
	for f in *.png; do pngtopnm "$f"; done | otsu -P > masks.pgm
	pamsplit -quiet masks.pgm 'mask%d.pgm'
	i=0; for f in *.png; do pnmtopng "mask$i.pgm" > "mask-$f"; i=$((i + 1)); done
	# five mask PNGs, each the mask of its own digit (d0..d4 sort as they were made)
	run ls mask-d*.png
	assert_equal "${#lines[@]}" 5
	otsu -P ../five.npy > ref.pgm
	pamsplit -quiet ref.pgm 'ref%d.pgm'
	for i in 0 1 2 3 4; do
		# pnmtopng may store a 0/255 mask in 1 bit: compared as intensities
		pngtopnm "mask-d$i.png" > back.pgm
		run mse back.pgm "ref$i.pgm"
		assert_line -n 0 'mse	0'
	done
	# the images themselves: the same values as the stream they came from
	for f in d*.png; do pngtopnm "$f"; done | totsv > a.tsv
	[ "$(ls d*.png | wc -l)" = 5 ]
	totsv ../five.npy > b.tsv
	cmp a.tsv b.tsv
}

@test "netpbm: JPEG through jpegtopnm is read too" {
	for i in 0 1 2; do pick --range $i:$((i + 1)) -P five.npy | pnmtojpeg -quality 95 > "j$i.jpg"; done
	run bash -c 'for f in j*.jpg; do jpegtopnm "$f" 2>/dev/null; done | otsu --thresholds'
	assert_success
	assert_equal "${#lines[@]}" 3
}

@test "netpbm: a PNG or JPEG given as it is: the error says how to convert it and what is read" {
	run otsu png/d0.png
	assert_failure 1
	assert_equal "${#lines[@]}" 1
	assert_output "otsu: a PNG image: convert it with pngtopnm (see segpipe(7)); segpipe reads tensor streams (.npy), .npz archives by name, netpbm (PBM, PGM, PPM, PAM) and IDX files, plain or gzip (png/d0.png, sample 0)"
	pick -n 1 -P five.npy | pnmtojpeg > x.jpg
	run bash -c 'otsu < x.jpg'
	assert_failure 1
	assert_output --regexp '^otsu: a JPEG image: convert it with jpegtopnm \(see segpipe\(7\)\); segpipe reads .* \(stdin, sample 0\)$'
}
