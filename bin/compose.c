/* compose: M2NIST-style canvases of 2 or 3 MNIST digits, with class maps. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

static const char usage[] =
"Usage: compose [options] -m CLASSES IMAGES LABELS\n"
"M2NIST-style canvases, 64 high x 84 wide, each of 2 or 3 digits drawn at\n"
"random from IMAGES (28x28, labels from LABELS). Digit i is placed at\n"
"x = 28 i + uniform 0..9, y = uniform 0..36 and kept only if it fits; the\n"
"canvas is the pixelwise maximum. Canvases (uint8) go to standard output,\n"
"class maps (uint8: 0 background, d+1 digit d; the brightest digit wins\n"
"where digits overlap) to CLASSES.\n"
"\n"
"  -n, --count N         canvases to write (default 5000)\n"
"  -m, --classes FILE    write the class maps to FILE (required)\n"
"      --label KIND      foreground of a digit: nonzero (default, as M2NIST)\n"
"                        or otsu (pixels above the digit's Otsu threshold)\n"
"      --digits A[-B]    digits per canvas, uniform in A..B (default 2-3)\n"
"  -s, --seed N          random seed (default 1)\n"
"  -P, --pgm             write canvases as a PGM stream\n"
"      --force           write the binary output even to a terminal\n"
"  -h, --help            show this help and exit\n"
"      --version         show the version and exit\n";

enum { CANVAS_H = 64, CANVAS_W = 84, DIGIT = 28 };

struct options {
	long count;
	const char *classes;
	int otsu_label;
	long dmin, dmax;
	uint64_t seed;
	int pgm;
	const char *files[2];
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "classes", required_argument, NULL, 'm' },
		{ "label", required_argument, NULL, 'L' },
		{ "digits", required_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, 's' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":n:m:s:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->count = cli_long("--count", optarg, 0, 100000000); break;
		case 'm': o->classes = optarg; break;
		case 'L':
			if (strcmp(optarg, "otsu") == 0)
				o->otsu_label = 1;
			else if (strcmp(optarg, "nonzero") == 0)
				o->otsu_label = 0;
			else
				usage_die("--label: '%s' is not otsu or nonzero", optarg);
			break;
		case 'D': cli_range("--digits", optarg, &o->dmin, &o->dmax, 1, 3); break;
		case 's': o->seed = cli_seed("--seed", optarg); break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	if (!o->classes)
		usage_die("the class map file (-m FILE) is required");
	cli_operands(argc, argv, optind, 2, 2, o->files);
}

int main(int argc, char **argv)
{
	struct options o = { .count = 5000, .dmin = 2, .dmax = 3, .seed = 1 };
	dataset *img, *lab;
	shape_t shape = shape_chw(1, CANVAS_H, CANVAS_W);
	float canvas[CANVAS_H * CANVAS_W], cls[CANVAS_H * CANVAS_W];
	uint8_t *fg;
	output *out, *mout;
	FILE *mf;
	rng_t rng;

	cli_init(argc, argv, "compose");
	parse_args(argc, argv, &o);
	img = dataset_load(o.files[0]);
	lab = dataset_load(o.files[1]);
	if (!img->is_u8 || shape_h(&img->shape) != DIGIT || shape_w(&img->shape) != DIGIT ||
	    shape_c(&img->shape) != 1)
		die("images must be uint8 28x28 (%s)", img->name);
	if (lab->size != 1 || lab->n != img->n)
		die("need one label per image: %" PRId64 " labels for %" PRId64 " images (%s)",
		    lab->n, img->n, lab->name);
	if (img->n == 0)
		die("no images (%s)", img->name);

	/* each digit's foreground, once */
	fg = xmalloc_array((size_t)img->n, DIGIT * DIGIT);
	for (int64_t i = 0; i < img->n; i++) {
		const uint8_t *p = img->u8 + i * DIGIT * DIGIT;
		int t = 0;

		if (o.otsu_label) {
			int64_t hist[256] = { 0 };
			for (int k = 0; k < DIGIT * DIGIT; k++)
				hist[p[k]]++;
			t = otsu_threshold(hist);
		}
		for (int k = 0; k < DIGIT * DIGIT; k++)
			fg[i * DIGIT * DIGIT + k] = p[k] > t;
	}

	rng_seed(&rng, o.seed);
	out = output_open(stdout, o.pgm, DT_U8, &shape);
	mf = atomic_open(o.classes);
	mout = output_open(mf, 0, DT_U8, &shape);
	output_name(mout, o.classes);
	for (long n = 0; n < o.count; n++) {
		long ndig = o.dmin + (long)rng_below(&rng, (uint64_t)(o.dmax - o.dmin + 1));

		memset(canvas, 0, sizeof canvas);
		memset(cls, 0, sizeof cls);
		for (long d = 0; d < ndig; d++) {
			int64_t k = (int64_t)rng_below(&rng, (uint64_t)img->n);
			int x0 = DIGIT * (int)d + (int)rng_below(&rng, 10);
			int y0 = (int)rng_below(&rng, CANVAS_H - DIGIT + 1);
			const uint8_t *p = img->u8 + k * DIGIT * DIGIT, *f = fg + k * DIGIT * DIGIT;
			int32_t label;

			dataset_get_ints(lab, k, &label, 9, "label");   /* a digit */
			if (x0 + DIGIT > CANVAS_W)
				continue;
			for (int y = 0; y < DIGIT; y++)
				for (int x = 0; x < DIGIT; x++) {
					int c = (y0 + y) * CANVAS_W + x0 + x;
					float v = p[y * DIGIT + x];
					/* the brightest digit wins the class where digits overlap */
					if (f[y * DIGIT + x] && (cls[c] == 0 || v > canvas[c]))
						cls[c] = (float)(label + 1);
					if (v > canvas[c])
						canvas[c] = v;
				}
		}
		output_write(out, canvas);
		output_write(mout, cls);
	}
	output_close(mout);
	atomic_commit(mf);
	output_close(out);
	dataset_free(img);
	dataset_free(lab);
	free(fg);
	return 0;
}
