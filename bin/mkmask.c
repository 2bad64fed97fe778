/* mkmask: occlusion masks (1 = hidden): stripes, square patches, random pixels. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

static const char usage[] =
"Usage: mkmask --kind KIND --size WxH (--width A[-B] | --fraction F) -n COUNT\n"
"              [-s SEED] [-P]\n"
"Write COUNT occlusion masks of H rows and W columns as a uint8 tensor\n"
"stream of shape (H,W): 1 = hidden, 0 = visible.\n"
"\n"
"      --kind KIND      vstripe: one stripe of whole columns;\n"
"                       hstripe: one stripe of whole rows;\n"
"                       patch:   one square;\n"
"                       pixels:  each pixel hidden independently\n"
"  -S, --size WxH       mask width and height: (H,W) masks\n"
"      --width A[-B]    stripe width or square side, uniform in A..B\n"
"                       (vstripe, hstripe, patch); the stripe or square lies\n"
"                       fully inside the mask at a uniformly random position\n"
"      --fraction F     probability that a pixel is hidden (pixels), 0..1\n"
"  -n, --count COUNT    number of masks to write\n"
"  -s, --seed SEED      random seed (default 1); same seed, same bytes\n"
"  -P, --pgm            write a PGM stream (0/255) instead\n"
"      --force          write the binary output even to a terminal\n"
"  -h, --help           show this help and exit\n"
"      --version        show the version and exit\n";

enum kind { KIND_NONE, KIND_VSTRIPE, KIND_HSTRIPE, KIND_PATCH, KIND_PIXELS };

struct options {
	enum kind kind;
	int w, h;            /* mask size; 0 = not given */
	long wmin, wmax;     /* --width range; 0 = not given */
	double fraction;     /* --fraction; < 0 = not given */
	long count;          /* -n; < 0 = not given */
	uint64_t seed;
	int pgm;
};

static enum kind parse_kind(const char *s)
{
	static const struct { const char *name; enum kind k; } kinds[] = {
		{ "vstripe", KIND_VSTRIPE }, { "hstripe", KIND_HSTRIPE },
		{ "patch", KIND_PATCH }, { "pixels", KIND_PIXELS },
	};

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(s, kinds[i].name) == 0)
			return kinds[i].k;
	usage_die("--kind: '%s' is not vstripe, hstripe, patch or pixels", s);
}

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_SIZE = 256, OPT_VERSION };
	static const struct option longopts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "size", required_argument, NULL, 'S' },
		{ "width", required_argument, NULL, 'w' },
		{ "fraction", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	const char *width = NULL;
	long limit;
	int c;

	while ((c = getopt_long(argc, argv, ":S:n:s:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->kind = parse_kind(optarg); break;
		case 'S': cli_size("--size", optarg, &o->w, &o->h); break;
		case 'w': width = optarg; break;
		case 'f': o->fraction = cli_double("--fraction", optarg, 0, 1); break;
		case 'n': o->count = cli_long("--count", optarg, 0, 1L << 40); break;
		case 's': o->seed = cli_seed("--seed", optarg); break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case OPT_VERSION: cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 0, NULL);
	if (o->kind == KIND_NONE)
		usage_die("missing --kind");
	if (o->w == 0)
		usage_die("missing --size");
	if (o->count < 0)
		usage_die("missing -n COUNT");
	if ((int64_t)o->w * o->h > SAMPLE_MAX)
		usage_die("--size: %dx%d is too large", o->w, o->h);
	if (o->kind == KIND_PIXELS) {
		if (width)
			usage_die("--width does not apply to --kind pixels (use --fraction)");
		if (o->fraction < 0)
			usage_die("missing --fraction");
		return;
	}
	if (o->fraction >= 0)
		usage_die("--fraction applies to --kind pixels only (use --width)");
	if (!width)
		usage_die("missing --width");
	limit = o->kind == KIND_VSTRIPE ? o->w : o->kind == KIND_HSTRIPE ? o->h
	      : (o->w < o->h ? o->w : o->h);
	cli_range("--width", width, &o->wmin, &o->wmax, 1, 65535);
	if (o->wmax > limit)
		usage_die("--width: %ld is larger than the %dx%d mask allows (at most %ld)",
			  o->wmax, o->w, o->h, limit);
}

/* fill_rect: set rows y0..y0+rh-1, columns x0..x0+rw-1 of m (h,w) to v. */
static void fill_rect(float *m, int w, int x0, int y0, int rw, int rh, float v)
{
	for (int y = y0; y < y0 + rh; y++)
		for (int x = x0; x < x0 + rw; x++)
			m[(int64_t)y * w + x] = v;
}

/* make_mask: one mask into m (h,w); draws from r in a fixed order:
 * width, then x, then y (whichever apply), or one draw per pixel. */
static void make_mask(float *m, const struct options *o, rng_t *r, float on)
{
	int64_t n = (int64_t)o->w * o->h;
	int k, x0, y0;

	if (o->kind == KIND_PIXELS) {
		for (int64_t i = 0; i < n; i++)
			m[i] = rng_uniform(r) < o->fraction ? on : 0;
		return;
	}
	memset(m, 0, (size_t)n * sizeof *m);
	k = (int)(o->wmin + (long)rng_below(r, (uint64_t)(o->wmax - o->wmin + 1)));
	switch (o->kind) {
	case KIND_VSTRIPE:
		x0 = (int)rng_below(r, (uint64_t)(o->w - k + 1));
		fill_rect(m, o->w, x0, 0, k, o->h, on);
		break;
	case KIND_HSTRIPE:
		y0 = (int)rng_below(r, (uint64_t)(o->h - k + 1));
		fill_rect(m, o->w, 0, y0, o->w, k, on);
		break;
	default: /* KIND_PATCH */
		x0 = (int)rng_below(r, (uint64_t)(o->w - k + 1));
		y0 = (int)rng_below(r, (uint64_t)(o->h - k + 1));
		fill_rect(m, o->w, x0, y0, k, k, on);
		break;
	}
}

int main(int argc, char **argv)
{
	struct options o = { .fraction = -1, .count = -1, .seed = 1 };
	shape_t shape;
	output *out;
	rng_t rng;
	float *m;

	cli_init(argc, argv, "mkmask");
	parse_args(argc, argv, &o);
	shape = shape_chw(1, o.h, o.w);
	m = xmalloc_array((size_t)o.w * o.h, sizeof *m);
	rng_seed(&rng, o.seed);
	out = output_open(stdout, o.pgm, DT_U8, &shape);
	for (long i = 0; i < o.count; i++) {
		make_mask(m, &o, &rng, o.pgm ? 255 : 1);
		output_write(out, m);
	}
	output_close(out);
	free(m);
	return 0;
}
