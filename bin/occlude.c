/* occlude: hide the pixels a mask stream marks, by a fill value, noise, or
 * the pixels of another stream (paste-back: a restoration where the mask is,
 * the input elsewhere). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

static const char usage[] =
"Usage: occlude [-f VALUE | --noise | -F FILL] [-s SEED] [-P] MASKS [IMAGES]\n"
"Hide the pixels of each image where its mask is nonzero: they become\n"
"VALUE (default 0), with --noise uniform noise in [0,1), or with -F the\n"
"same pixels of sample i of the stream FILL.\n"
"Image i takes mask i mod M (M masks): masks are reused in turn when there\n"
"are fewer masks than images. A mask is (H,W) like the image, or has the\n"
"image's channels; a one-channel mask hides every channel of the image.\n"
"A mask holds 0 and 1 only (uint8 0/1 or 0/255, PGM 0/maxval, floats).\n"
"Output: float32 intensities (uint8 input is divided by 255).\n"
"\n"
"  -f, --fill VALUE  value of hidden pixels (default 0)\n"
"      --noise       hidden pixels get uniform noise in [0,1) instead\n"
"  -F, --fill-from FILL  hidden pixels of image i get those of sample i of\n"
"                    FILL (the images' shape and number): a restoration\n"
"                    pasted into the visible pixels of its input\n"
"  -s, --seed SEED   noise seed (default 1); same seed, same bytes\n"
"  -P, --pgm         write a PGM stream (PAM for C > 1) instead\n"
"      --force       write the binary output even to a terminal\n"
"  -h, --help        show this help and exit\n"
"      --version     show the version and exit\n"
"\n"
"With no IMAGES, or when IMAGES is -, read standard input; FILL may be -\n"
"instead.\n";

struct options {
	float fill;
	int fill_given;
	int noise;
	const char *fill_from;
	uint64_t seed;
	int seed_given;
	int pgm;
	const char *files[2];   /* MASKS, IMAGES */
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_NOISE = 256, OPT_VERSION };
	static const struct option longopts[] = {
		{ "fill", required_argument, NULL, 'f' },
		{ "noise", no_argument, NULL, OPT_NOISE },
		{ "fill-from", required_argument, NULL, 'F' },
		{ "seed", required_argument, NULL, 's' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":f:F:s:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->fill = (float)cli_double("--fill", optarg, -3.4e38, 3.4e38);
			o->fill_given = 1;
			break;
		case OPT_NOISE: o->noise = 1; break;
		case 'F': o->fill_from = optarg; break;
		case 's': o->seed = cli_seed("--seed", optarg); o->seed_given = 1; break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case OPT_VERSION: cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 1, 2, o->files);
	cli_no_effect(o->seed_given && !o->noise, "--seed", "without --noise");
	if (o->fill_given + o->noise + !!o->fill_from > 1)
		usage_die("--fill, --noise and --fill-from exclude each other");
	if (cli_is_stdin(o->files[0]) && cli_is_stdin(o->files[1]))
		usage_die("MASKS and IMAGES cannot both be standard input");
	if (o->fill_from && cli_is_stdin(o->fill_from) &&
	    (cli_is_stdin(o->files[0]) || cli_is_stdin(o->files[1])))
		usage_die("FILL and %s cannot both be standard input",
			  cli_is_stdin(o->files[0]) ? "MASKS" : "IMAGES");
}

/* check_shapes: the mask covers the image's H x W, with 1 or C channels. */
static void check_shapes(const dataset *masks, const input *in)
{
	const shape_t *ms = &masks->shape, *is = input_shape(in);

	input_require_images(in);
	shape_require_images(ms, masks->name);
	if (shape_h(ms) != shape_h(is) || shape_w(ms) != shape_w(is) ||
	    (shape_c(ms) != 1 && shape_c(ms) != shape_c(is)))
		die("mask shape %s does not fit image shape %s (%s, %s)",
		    shape_str(ms), shape_str(is), masks->name, input_name(in));
}

/* noise: uniform in [0,1) as a float (24 random bits; never rounds up to 1). */
static float noise(rng_t *r)
{
	return (float)(rng_next(r) >> 40) * 0x1p-24f;
}

int main(int argc, char **argv)
{
	struct options o = { .seed = 1 };
	dataset *masks;
	input *in, *fill = NULL;
	output *out;
	float *x, *m, *f = NULL;
	int64_t n, plane, nmask_el, k = 0;
	rng_t rng;

	cli_init(argc, argv, "occlude");
	parse_args(argc, argv, &o);
	masks = dataset_load(o.files[0]);
	dataset_label(masks, "MASKS", "MASKS come first: swapped MASKS and IMAGES?");
	in = input_open(o.files[1]);
	check_shapes(masks, in);
	n = input_size(in);
	if (o.fill_from) {
		fill = input_open(o.fill_from);
		if (!shape_equal(input_shape(fill), input_shape(in)))
			die("fill shape %s is not image shape %s (%s, %s)",
			    shape_str(input_shape(fill)), shape_str(input_shape(in)),
			    input_name(fill), input_name(in));
		f = xmalloc_array((size_t)n, sizeof *f);
	}
	nmask_el = masks->size;
	plane = shape_h(&masks->shape) * shape_w(&masks->shape);
	x = xmalloc_array((size_t)n, sizeof *x);
	m = xmalloc_array((size_t)nmask_el, sizeof *m);
	rng_seed(&rng, o.seed);
	out = output_open(stdout, o.pgm, DT_F32, input_shape(in));
	while (input_read(in, x, ROLE_INTENSITY)) {
		if (masks->n == 0)   /* no images, no masks: an empty stream out */
			die("no masks in the stream for %s (%s)", input_name(in), masks->name);
		if (fill && !input_read(fill, f, ROLE_INTENSITY))
			die("%s has fewer samples than %s (%s, sample %lld)", input_name(fill),
			    input_name(in), input_name(fill), (long long)input_index(in));
		dataset_get(masks, k, m, ROLE_BINARY);
		k = k + 1 == masks->n ? 0 : k + 1;
		for (int64_t c = 0; c < n / plane; c++) {
			/* a one-channel mask repeats over the image's channels */
			const float *mc = nmask_el == n ? m + c * plane : m;
			float *xc = x + c * plane;

			for (int64_t i = 0; i < plane; i++)
				if (mc[i] != 0)
					xc[i] = f ? f[c * plane + i] : o.noise ? noise(&rng) : o.fill;
		}
		output_write(out, x);
	}
	if (fill && input_read(fill, f, ROLE_INTENSITY))
		die("%s has more samples than %s (%s, sample %lld)", input_name(fill),
		    input_name(in), input_name(fill), (long long)input_index(fill));
	output_close(out);
	input_close(in);
	input_close(fill);
	dataset_free(masks);
	free(f);
	free(x);
	free(m);
	return 0;
}
