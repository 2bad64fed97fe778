/* pad: centre every image on a larger canvas, or crop it centred. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor.h"

static const char usage[] =
"Usage: pad [--size WxH] [--crop] [-f VALUE] [-P] [FILE]\n"
"Pad every image of a stream, centred, to WxH (default 32x32); with --crop,\n"
"cut the centred WxH window out instead. When the difference is odd, the\n"
"extra row or column goes at the bottom or right, so pad --crop undoes pad\n"
"exactly. (C,H,W) samples are padded channel by channel. uint8 streams\n"
"stay uint8; anything else is written as float32 intensities.\n"
"\n"
"  -S, --size WxH     the output size (default 32x32)\n"
"      --crop         crop to WxH instead of padding\n"
"  -f, --fill VALUE   the value of the new pixels, in the stream's units:\n"
"                     an integer 0..255 for uint8 streams (default 0)\n"
"  -P, --pgm          write a PGM/PAM stream instead of a tensor stream\n"
"      --force        write the binary output even to a terminal\n"
"  -h, --help         show this help and exit\n"
"      --version      show the version and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

struct options {
	int w, h;
	int crop;
	double fill;
	const char *fill_arg;
	int pgm;
	const char *file;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 'S' },
		{ "crop", no_argument, NULL, 'c' },
		{ "fill", required_argument, NULL, 'f' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->w = o->h = 32;
	while ((c = getopt_long(argc, argv, ":S:f:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': cli_size("--size", optarg, &o->w, &o->h); break;
		case 'c': o->crop = 1; break;
		case 'f':
			o->fill = cli_double("--fill", optarg, -3.4e38, 3.4e38);
			o->fill_arg = optarg;
			break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 1, &o->file);
	cli_no_effect(o->crop && o->fill_arg, "--fill", "with --crop (no pixels are new)");
}

/* pad_image: out (C,H,W) gets inp (C,h,w) at row top, column left; the
 * rest is fill. */
static void pad_image(float *out, const float *inp, int64_t c, int64_t h, int64_t w,
		      int64_t H, int64_t W, int64_t top, int64_t left, float fill)
{
	for (int64_t i = 0; i < c * H * W; i++)
		out[i] = fill;
	for (int64_t k = 0; k < c; k++)
		for (int64_t y = 0; y < h; y++) {
			const float *src = inp + (k * h + y) * w;
			float *dst = out + (k * H + y + top) * W + left;
			for (int64_t x = 0; x < w; x++)
				dst[x] = src[x];
		}
}

/* crop_image: out (C,H,W) is the window of inp (C,h,w) at row top, column left. */
static void crop_image(float *out, const float *inp, int64_t c, int64_t h, int64_t w,
		       int64_t H, int64_t W, int64_t top, int64_t left)
{
	for (int64_t k = 0; k < c; k++)
		for (int64_t y = 0; y < H; y++) {
			const float *src = inp + (k * h + y + top) * w + left;
			float *dst = out + (k * H + y) * W;
			for (int64_t x = 0; x < W; x++)
				dst[x] = src[x];
		}
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	input *in;
	output *out;
	const shape_t *s;
	shape_t os;
	int64_t c, h, w, top, left;
	float *x, *y;
	int is_u8;

	cli_init(argc, argv, "pad");
	parse_args(argc, argv, &o);
	in = input_open(o.file);
	s = input_shape(in);
	is_u8 = input_is_u8(in);
	input_require_images(in);
	c = shape_c(s);
	h = shape_h(s);
	w = shape_w(s);
	if (o.crop && (o.w > w || o.h > h))
		die("cannot crop %s to %dx%d: larger than the image (%s)",
		    shape_str(s), o.w, o.h, input_name(in));
	if (!o.crop && (o.w < w || o.h < h))
		die("cannot pad %s to %dx%d: smaller than the image; use --crop (%s)",
		    shape_str(s), o.w, o.h, input_name(in));
	if (is_u8 && o.fill_arg && (o.fill < 0 || o.fill > 255 || o.fill != floor(o.fill)))
		die("fill value %s does not fit a uint8 stream (%s)", o.fill_arg, input_name(in));
	if (c * o.h * o.w > SAMPLE_MAX)
		die("%dx%d with %lld channels is too large a sample (%s)", o.w, o.h,
		    (long long)c, input_name(in));
	/* the same offsets both ways: floor of half the difference */
	top = o.crop ? (h - o.h) / 2 : (o.h - h) / 2;
	left = o.crop ? (w - o.w) / 2 : (o.w - w) / 2;
	os = s->ndim == 3 ? (shape_t){ 3, { c, o.h, o.w } } : (shape_t){ 2, { o.h, o.w, 0 } };
	x = xmalloc_array((size_t)input_size(in), sizeof *x);
	y = xmalloc_array((size_t)shape_size(&os), sizeof *y);
	out = output_open(stdout, o.pgm, input_keep_dtype(in), &os);
	while (input_read(in, x, input_keep_role(in))) {
		if (o.crop)
			crop_image(y, x, c, h, w, o.h, o.w, top, left);
		else
			pad_image(y, x, c, h, w, o.h, o.w, top, left, (float)o.fill);
		output_write(out, y);
	}
	output_close(out);
	input_close(in);
	free(x);
	free(y);
	return 0;
}
