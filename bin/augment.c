/* augment: seeded random shifts, flips, rotations, erasing and noise. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor.h"
#include "nn.h"

static const char usage[] =
"Usage: augment [--shift N] [--flip | --mirror] [--rotate DEG] [--erase P [--erase-fill F]]\n"
"               [--noise SIGMA] [-s SEED] [--start K | --index FILE] [-j N] [-P]\n"
"               [FILE]\n"
"Random changes to each image of a stream, drawn from the seed and the\n"
"sample's position alone: the same seed gives the same bytes, whatever the\n"
"thread count, and a slice of a stream is changed as it would be in the\n"
"whole (see --start, --index). Applied in this order, each only when asked:\n"
"\n"
"      --flip          mirror left-right with probability 0.5\n"
"      --mirror        mirror every image left-right (no draw: for test-time\n"
"                      augmentation, the predictions on both averaged)\n"
"      --rotate DEG    rotate about the centre by an angle uniform in\n"
"                      [-DEG,DEG] degrees (0..180), bilinear, zero outside\n"
"      --shift N       move by dx, dy each uniform in -N..N pixels, zero fill\n"
"      --erase P       with probability P (0..1) one random rectangle of 2-40%\n"
"                      of the image, aspect 0.3-3.3, is erased (Zhong et al.)\n"
"      --erase-fill F  what fills it: noise (uniform random values, default)\n"
"                      or zero\n"
"      --noise SIGMA   add Gaussian noise of SIGMA intensity units (1 = white)\n"
"                      to every value, clipped to 0..1 (uint8: 0..255)\n"
"\n"
"  -s, --seed SEED     random seed (default 1); with --mirror alone, which\n"
"                      draws nothing, --seed, --start and --index are errors\n"
"      --start K       the first sample is at position K (default 0): after\n"
"                      pick --range K:..., the draws of augment before pick\n"
"      --index FILE    the positions of the samples, one a line, as\n"
"                      pick --index-out writes them (a finished file, not\n"
"                      one pick is still writing in the same pipe)\n"
"  -j, --threads N     threads (default: all cores)\n"
"  -P, --pgm           write a PGM/PAM stream instead of a tensor stream\n"
"  -h, --help          show this help and exit\n"
"      --version       show the version and exit\n"
"\n"
"Images are (H,W) or (C,H,W); every channel is changed alike. uint8\n"
"streams stay uint8 (rounded); anything else is read as intensities and\n"
"written as float32. With no FILE, or when FILE is -, read standard input.\n";

struct options {
	int shift;            /* pixels; 0: no shifts */
	int flip;
	int mirror;           /* every image, no draw */
	double rotate;        /* degrees; 0: no rotations */
	int rotate_given;
	double erase;         /* probability */
	int erase_given;
	int erase_zero;       /* fill erased rectangles with 0, not noise */
	double noise;         /* sigma, intensity units */
	int noise_given;
	uint64_t seed;
	int64_t start;
	const char *index;
	int threads;
	int pgm;
	const char *file;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_SHIFT = 256, OPT_FLIP, OPT_MIRROR, OPT_ROTATE, OPT_ERASE, OPT_FILL, OPT_NOISE,
	       OPT_START, OPT_INDEX, OPT_VERSION };
	static const struct option longopts[] = {
		{ "shift", required_argument, NULL, OPT_SHIFT },
		{ "flip", no_argument, NULL, OPT_FLIP },
		{ "mirror", no_argument, NULL, OPT_MIRROR },
		{ "rotate", required_argument, NULL, OPT_ROTATE },
		{ "erase", required_argument, NULL, OPT_ERASE },
		{ "erase-fill", required_argument, NULL, OPT_FILL },
		{ "noise", required_argument, NULL, OPT_NOISE },
		{ "seed", required_argument, NULL, 's' },
		{ "start", required_argument, NULL, OPT_START },
		{ "index", required_argument, NULL, OPT_INDEX },
		{ "threads", required_argument, NULL, 'j' },
		{ "pgm", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int c, fill_given = 0, seed_given = 0, start_given = 0;

	while ((c = getopt_long(argc, argv, ":s:j:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SHIFT: o->shift = (int)cli_long("--shift", optarg, 1, 4096); break;
		case OPT_FLIP: o->flip = 1; break;
		case OPT_MIRROR: o->mirror = 1; break;
		case OPT_ROTATE:
			o->rotate = cli_double("--rotate", optarg, 0, 180);
			o->rotate_given = 1;
			break;
		case OPT_ERASE:
			o->erase = cli_double("--erase", optarg, 0, 1);
			o->erase_given = 1;
			break;
		case OPT_FILL:
			if (!strcmp(optarg, "zero"))
				o->erase_zero = 1;
			else if (strcmp(optarg, "noise"))
				usage_die("--erase-fill: '%s' is not noise or zero", optarg);
			fill_given = 1;
			break;
		case OPT_NOISE:
			o->noise = cli_double("--noise", optarg, 0, 1e6);
			o->noise_given = 1;
			break;
		case 's':
			o->seed = cli_seed("--seed", optarg);
			seed_given = 1;
			break;
		case OPT_START:
			o->start = cli_long("--start", optarg, 0, INT64_MAX);
			start_given = 1;
			break;
		case OPT_INDEX: o->index = optarg; break;
		case 'j': o->threads = cli_threads("--threads", optarg); break;
		case 'P': o->pgm = 1; break;
		case 'h': cli_help(usage); break;
		case OPT_VERSION: cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 1, &o->file);
	if (!o->shift && !o->flip && !o->mirror && !o->rotate_given && !o->erase_given &&
	    !o->noise_given)
		usage_die("nothing to do: give --shift, --flip, --mirror, --rotate, --erase or "
			  "--noise");
	if (o->flip && o->mirror)
		usage_die("give one of --flip and --mirror");
	if (fill_given && !o->erase_given)
		usage_die("--erase-fill needs --erase");
	if (o->index && start_given)
		usage_die("give one of --start and --index");
	/* --mirror alone draws nothing: the seed and the positions do nothing */
	int draws = o->shift || o->flip || o->rotate_given || o->erase_given || o->noise_given;
	cli_no_effect(!draws && seed_given, "--seed", "with --mirror alone (nothing is drawn)");
	cli_no_effect(!draws && start_given, "--start", "with --mirror alone (nothing is drawn)");
	cli_no_effect(!draws && o->index, "--index", "with --mirror alone (nothing is drawn)");
	if (o->index && cli_is_stdin(o->index) && cli_is_stdin(o->file))
		usage_die("FILE and --index cannot both be standard input");
}

/* One image's geometry. */
struct image {
	int64_t C, H, W;
	float hi;             /* the top of the value range: 1, or 255 for uint8 */
};

/* flip_rows: mirror every row of x (C,H,W) in place */
static void flip_rows(float *x, const struct image *g)
{
	for (int64_t r = 0; r < g->C * g->H; r++) {
		float *p = x + r * g->W;
		for (int64_t a = 0, b = g->W - 1; a < b; a++, b--) {
			float t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
	}
}

/* shift_copy: out (C,H,W) = x (C,H,W) moved by (dx, dy), zero fill */
static void shift_copy(float *out, const float *x, const struct image *g, int64_t dx, int64_t dy)
{
	int64_t H = g->H, W = g->W;

	for (int64_t c = 0; c < g->C; c++)
		for (int64_t y = 0; y < H; y++) {
			float *o = out + (c * H + y) * W;
			int64_t sy = y - dy;
			if (sy < 0 || sy >= H) {
				memset(o, 0, (size_t)W * sizeof *o);
				continue;
			}
			const float *s = x + (c * H + sy) * W;
			for (int64_t xx = 0; xx < W; xx++) {
				int64_t sx = xx - dx;
				o[xx] = sx >= 0 && sx < W ? s[sx] : 0;
			}
		}
}

/* warp: out (C,H,W) = x (C,H,W) rotated by angle a (radians, counter-
 * clockwise on screen) about the centre, then moved by (dx, dy); bilinear,
 * pixels beyond the border are 0. Each output pixel samples the input at
 * the inverse transform of its position. */
static void warp(float *out, const float *x, const struct image *g, double a, double dx, double dy)
{
	int64_t H = g->H, W = g->W;
	double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0, ca = cos(a), sa = sin(a);

	for (int64_t y = 0; y < H; y++)
		for (int64_t xx = 0; xx < W; xx++) {
			/* screen y points down: a counter-clockwise turn on screen */
			double u = xx - dx - cx, v = y - dy - cy;
			double sx = ca * u - sa * v + cx, sy = sa * u + ca * v + cy;
			double fx = floor(sx), fy = floor(sy);
			int64_t x0 = (int64_t)fx, y0 = (int64_t)fy;
			float wx = (float)(sx - fx), wy = (float)(sy - fy);
			int in00 = x0 >= 0 && x0 < W && y0 >= 0 && y0 < H;
			int in10 = x0 + 1 >= 0 && x0 + 1 < W && y0 >= 0 && y0 < H;
			int in01 = x0 >= 0 && x0 < W && y0 + 1 >= 0 && y0 + 1 < H;
			int in11 = x0 + 1 >= 0 && x0 + 1 < W && y0 + 1 >= 0 && y0 + 1 < H;

			if (sx <= -1 || sy <= -1 || sx >= W || sy >= H) {
				for (int64_t c = 0; c < g->C; c++)
					out[(c * H + y) * W + xx] = 0;
				continue;
			}
			for (int64_t c = 0; c < g->C; c++) {
				const float *p = x + c * H * W;
				float v00 = in00 ? p[y0 * W + x0] : 0;
				float v10 = in10 ? p[y0 * W + x0 + 1] : 0;
				float v01 = in01 ? p[(y0 + 1) * W + x0] : 0;
				float v11 = in11 ? p[(y0 + 1) * W + x0 + 1] : 0;
				out[(c * H + y) * W + xx] = (1 - wy) * ((1 - wx) * v00 + wx * v10) +
							    wy * ((1 - wx) * v01 + wx * v11);
			}
		}
}

/* erase: Zhong et al. (2020), random erasing: an area of 2-40% of the image
 * and an aspect ratio in [0.3, 1/0.3], tried until the rectangle fits (at
 * most 100 tries: then nothing is erased); the same rectangle in every
 * channel, each value 0 or uniform in [0, hi). x (C,H,W) */
static void erase(float *x, const struct image *g, int zero, rng_t *r)
{
	double area = (double)g->H * (double)g->W;

	for (int t = 0; t < 100; t++) {
		double s = area * (0.02 + 0.38 * rng_uniform(r));
		double asp = 0.3 + (1 / 0.3 - 0.3) * rng_uniform(r);
		int64_t h = (int64_t)lround(sqrt(s * asp)), w = (int64_t)lround(sqrt(s / asp));

		if (h < 1 || w < 1 || h >= g->H || w >= g->W)
			continue;
		int64_t y0 = (int64_t)rng_below(r, (uint64_t)(g->H - h + 1));
		int64_t x0 = (int64_t)rng_below(r, (uint64_t)(g->W - w + 1));
		for (int64_t c = 0; c < g->C; c++)
			for (int64_t y = y0; y < y0 + h; y++) {
				float *p = x + (c * g->H + y) * g->W;
				for (int64_t xx = x0; xx < x0 + w; xx++)
					p[xx] = zero ? 0 : (float)(g->hi * rng_uniform(r));
			}
		return;
	}
}

/* add_noise: x (n) += sigma hi N(0,1), clipped to [0, hi] */
static void add_noise(float *x, int64_t n, double sigma, float hi, rng_t *r)
{
	float s = (float)(sigma * hi);

	for (int64_t i = 0; i < n; i++) {
		float v = x[i] + s * rng_normal(r);
		x[i] = v < 0 ? 0 : v > hi ? hi : v;
	}
}

/* augment_one: out (C,H,W) from x (C,H,W), the draws of position pos;
 * x is scratch. The draws come in a fixed order, each only when its
 * change was asked for. */
static void augment_one(float *out, float *x, const struct image *g, const struct options *o,
			uint64_t pos)
{
	int64_t n = g->C * g->H * g->W;
	rng_t r;

	rng_seed_at(&r, o->seed, pos);
	if (o->mirror || (o->flip && rng_uniform(&r) < 0.5))
		flip_rows(x, g);
	if (o->rotate_given || o->shift) {
		double a = 0;
		int64_t dx = 0, dy = 0;

		if (o->rotate_given)
			a = (2 * rng_uniform(&r) - 1) * o->rotate * (M_PI / 180);
		if (o->shift) {
			dx = (int64_t)rng_below(&r, 2 * (uint64_t)o->shift + 1) - o->shift;
			dy = (int64_t)rng_below(&r, 2 * (uint64_t)o->shift + 1) - o->shift;
		}
		if (o->rotate_given)
			warp(out, x, g, a, (double)dx, (double)dy);
		else
			shift_copy(out, x, g, dx, dy);
	} else {
		memcpy(out, x, (size_t)n * sizeof *out);
	}
	if (o->erase_given && rng_uniform(&r) < o->erase)
		erase(out, g, o->erase_zero, &r);
	if (o->noise_given)
		add_noise(out, n, o->noise, g->hi, &r);
}

/* Positions from a file of one integer a line (pick --index-out). */
struct positions {
	FILE *f;
	const char *name;
	int64_t line;
};

static uint64_t next_position(struct positions *p)
{
	char buf[64], *end;
	unsigned long long v;

	if (!fgets(buf, sizeof buf, p->f)) {
		if (ferror(p->f))
			die("cannot read %s:", p->name);
		die("%s ends after %" PRId64 " positions; the stream has more samples",
		    p->name, p->line);
	}
	p->line++;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || buf[0] == '-' || (*end != '\n' && *end != '\0'))
		die("%s line %" PRId64 ": not a position (a non-negative integer)", p->name,
		    p->line);
	return v;
}

int main(int argc, char **argv)
{
	struct options o = { .seed = 1 };
	struct positions pos = { 0 };
	struct image g;
	input *in;
	output *out;
	enum role role;
	float *x, *y;
	uint64_t *at;
	int64_t n, chunk, next = 0;

	cli_init(argc, argv, "augment");
	cli_wait_policy(argv);
	parse_args(argc, argv, &o);
	nn_set_threads(o.threads ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
	if (o.index) {
		pos.name = o.index;
		pos.f = cli_is_stdin(o.index) ? stdin : fopen(o.index, "r");
		if (!pos.f)
			die("cannot open %s:", o.index);
	}
	in = input_open(o.file);
	input_require_images(in);
	if (o.pgm && shape_c(input_shape(in)) > 4)
		die("-P: %" PRId64 " channels do not fit a PAM image (%s)",
		    shape_c(input_shape(in)), input_name(in));
	g.C = shape_c(input_shape(in));
	g.H = shape_h(input_shape(in));
	g.W = shape_w(input_shape(in));
	g.hi = input_is_u8(in) ? 255 : 1;
	role = input_keep_role(in);
	n = input_size(in);
	/* samples in flight at once: a few MB, at least one */
	chunk = ((int64_t)1 << 20) / n;
	chunk = chunk < 1 ? 1 : chunk > 1024 ? 1024 : chunk;
	x = xmalloc_array((size_t)(chunk * n), sizeof *x);
	y = xmalloc_array((size_t)(chunk * n), sizeof *y);
	at = xmalloc_array((size_t)chunk, sizeof *at);
	out = output_open(stdout, o.pgm, input_keep_dtype(in), input_shape(in));
	for (;;) {
		int64_t b = 0;

		while (b < chunk && input_read(in, x + b * n, role)) {
			at[b] = o.index ? next_position(&pos) : (uint64_t)(o.start + next);
			next++;
			b++;
		}
		#pragma omp parallel for schedule(static)
		for (int64_t k = 0; k < b; k++)
			augment_one(y + k * n, x + k * n, &g, &o, at[k]);
		for (int64_t k = 0; k < b; k++)
			output_write(out, y + k * n);
		if (b < chunk)
			break;
	}
	if (o.index) {
		int ch = getc(pos.f);
		if (ch != EOF)
			die("%s has more positions than the stream's %" PRId64 " samples",
			    o.index, next);
		if (pos.f != stdin)
			fclose(pos.f);
	}
	output_close(out);
	input_close(in);
	free(x);
	free(y);
	free(at);
	return 0;
}
