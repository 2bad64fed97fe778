/* montage: a stream of images as one grid picture (PGM). */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor.h"

#define GAP_VALUE 0.5f              /* mid-grey: apart from black and white */
#define CANVAS_MAX SAMPLE_MAX   /* pixels in the picture, at most: one sample */

static const char usage[] =
"Usage: montage [--cols N] [--gap G] [--max N] [--scale S] [--stretch] [FILE]\n"
"Lay the images of a stream out as one grid, in row-major order, and write\n"
"it as one PGM image (maxval 255). Every channel of a (C,H,W) sample is a\n"
"tile of its own, channel after channel. Tiles are G pixels apart; the gaps\n"
"and any empty cells of the last row are mid-grey (128). The picture is\n"
"cols*W*S + (cols-1)*G pixels wide, rows*H*S + (rows-1)*G high. uint8\n"
"values are drawn as they are; float intensities as round(255 x), clipped.\n"
"\n"
"      --cols N   tiles per row (default: ceil(sqrt(tiles)))\n"
"  -g, --gap G    pixels between tiles (default 1)\n"
"      --max N    draw at most the first N samples (default 256)\n"
"  -z, --scale S  enlarge every tile S times, nearest neighbour (default 1)\n"
"      --stretch  map each channel's minimum..maximum over all the samples\n"
"                 drawn to black..white, the same for every tile of that\n"
"                 channel (0/1 masks, class maps: one grey per class;\n"
"                 values outside [0,1])\n"
"      --force    write the binary output even to a terminal\n"
"  -h, --help     show this help and exit\n"
"      --version  show the version and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

struct options {
	long cols;
	long gap;
	long max;
	long scale;
	int stretch;
	const char *file;
};

/* stretch: channel k of the n samples (c channels of hw values each) from
 * its minimum..maximum over them all to 0..1, one mapping for every tile of
 * the channel, so that a class map's class has one grey in every tile; a
 * flat channel stays as it is when within [0,1], else becomes 0. */
static void stretch(float *buf, int64_t n, int64_t c, int64_t hw, int64_t k)
{
	float lo = buf[k * hw], hi = lo;

	for (int64_t s = 0; s < n; s++) {
		const float *x = buf + (s * c + k) * hw;
		for (int64_t i = 0; i < hw; i++) {
			lo = x[i] < lo ? x[i] : lo;
			hi = x[i] > hi ? x[i] : hi;
		}
	}
	for (int64_t s = 0; s < n; s++) {
		float *x = buf + (s * c + k) * hw;
		for (int64_t i = 0; i < hw; i++)
			x[i] = hi > lo ? (x[i] - lo) / (hi - lo) : lo < 0 || lo > 1 ? 0 : x[i];
	}
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "cols", required_argument, NULL, 'c' },
		{ "gap", required_argument, NULL, 'g' },
		{ "max", required_argument, NULL, 'm' },
		{ "scale", required_argument, NULL, 'z' },
		{ "stretch", no_argument, NULL, 'S' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->gap = 1;
	o->max = 256;
	o->scale = 1;
	while ((c = getopt_long(argc, argv, ":g:z:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->cols = cli_long("--cols", optarg, 1, 65535); break;
		case 'g': o->gap = cli_long("--gap", optarg, 0, 1024); break;
		case 'm': o->max = cli_long("--max", optarg, 1, 1 << 20); break;
		case 'z': o->scale = cli_long("--scale", optarg, 1, 64); break;
		case 'S': o->stretch = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 1, &o->file);
}

/* draw_tile: canvas (CH,CW) gets tile (h,w) enlarged s times at (top,left). */
static void draw_tile(float *canvas, int64_t cw, const float *tile, int64_t h, int64_t w,
		      int64_t s, int64_t top, int64_t left)
{
	for (int64_t y = 0; y < h * s; y++) {
		const float *src = tile + (y / s) * w;
		float *dst = canvas + (top + y) * cw + left;
		for (int64_t x = 0; x < w * s; x++)
			dst[x] = src[x / s];
	}
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	input *in;
	output *out;
	const shape_t *s;
	int64_t n = 0, size, c, h, w, tiles, cols, rows, ch, cw;
	float *buf, *canvas;
	shape_t os;

	cli_init(argc, argv, "montage");
	parse_args(argc, argv, &o);
	in = input_open(o.file);
	s = input_shape(in);
	input_require_images(in);
	size = input_size(in);
	c = shape_c(s);
	h = shape_h(s);
	w = shape_w(s);
	buf = NULL;   /* grows as images arrive, not as --max says */
	for (int64_t cap = 0; n < o.max; n++) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			cap = cap < o.max ? cap : o.max;
			cap = cap < CANVAS_MAX / size + 1 ? cap : CANVAS_MAX / size + 1;
			buf = xrealloc(buf, (size_t)(cap * size) * sizeof *buf);
		}
		if (!input_read(in, buf + n * size, ROLE_INTENSITY))
			break;
		if ((n + 1) * size > CANVAS_MAX)
			die("%" PRId64 " samples of shape %s are too many to lay out; lower --max (%s)",
			    n + 1, shape_str(s), input_name(in));
	}
	if (n == 0)
		die("no images in the stream (%s)", input_name(in));
	tiles = n * c;
	if (o.stretch)
		for (int64_t k = 0; k < c; k++)
			stretch(buf, n, c, h * w, k);
	cols = o.cols ? o.cols : (int64_t)ceil(sqrt((double)tiles));
	while (!o.cols && cols * cols < tiles)   /* sqrt's rounding */
		cols++;
	rows = (tiles + cols - 1) / cols;
	cw = cols * w * o.scale + (cols - 1) * o.gap;
	ch = rows * h * o.scale + (rows - 1) * o.gap;
	if (cw > 65535 || ch > 65535 || cw * ch > CANVAS_MAX)
		die("a picture of %" PRId64 "x%" PRId64 " is too large (%s)", cw, ch,
		    input_name(in));
	canvas = xmalloc_array((size_t)(cw * ch), sizeof *canvas);
	for (int64_t i = 0; i < cw * ch; i++)
		canvas[i] = GAP_VALUE;
	for (int64_t t = 0; t < tiles; t++)
		draw_tile(canvas, cw, buf + t * h * w, h, w, o.scale,
			  (t / cols) * (h * o.scale + o.gap), (t % cols) * (w * o.scale + o.gap));
	os = shape_chw(1, ch, cw);
	out = output_open(stdout, 1, DT_F32, &os);
	output_write(out, canvas);
	output_close(out);
	input_close(in);
	free(buf);
	free(canvas);
	return 0;
}
