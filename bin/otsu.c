/* otsu: foreground masks by Otsu's threshold, one per image. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor.h"

static const char usage[] =
"Usage: otsu [--thresholds] [-P] [FILE]\n"
"Foreground masks by Otsu's threshold per image: 1 where value > t.\n"
"The threshold maximises the between-class variance of the 256-bin\n"
"histogram of 8-bit values (float input in [0,1] is quantised to\n"
"round(255 x); a float outside [0,1] is an error); the first maximum wins;\n"
"a uniform image is all background. The samples must be images, (H,W) or\n"
"(C,H,W).\n"
"\n"
"      --thresholds  print one threshold (0..255) per line instead of masks\n"
"  -P, --pgm         write a PGM stream (0/255) instead of a uint8 tensor stream\n"
"      --force       write the binary output even to a terminal\n"
"  -h, --help        show this help and exit\n"
"      --version     show the version and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

struct options {
	int thresholds;
	int pgm;
	const char *file;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "thresholds", no_argument, NULL, 't' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 't': o->thresholds = 1; break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 1, &o->file);
	cli_no_effect(o->thresholds && o->pgm, "--pgm", "with --thresholds (no masks are written)");
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	input *in;
	output *out = NULL;
	float *x;
	uint8_t *q;
	int64_t n;

	cli_init(argc, argv, "otsu");
	parse_args(argc, argv, &o);
	in = input_open(o.file);
	input_require_images(in);
	n = input_size(in);
	x = xmalloc_array((size_t)n, sizeof *x);
	q = xmalloc((size_t)n);
	if (!o.thresholds)
		out = output_open(stdout, o.pgm, DT_U8, input_shape(in));
	while (input_read(in, x, ROLE_UNIT)) {
		int64_t hist[256] = { 0 };
		int t;

		for (int64_t i = 0; i < n; i++)
			hist[q[i] = (uint8_t)quantise8(x[i])]++;
		t = otsu_threshold(hist);
		if (o.thresholds) {
			printf("%d\n", t);
			continue;
		}
		for (int64_t i = 0; i < n; i++)
			x[i] = q[i] > t ? (o.pgm ? 255 : 1) : 0;
		output_write(out, x);
	}
	if (out)
		output_close(out);
	else
		output_check(stdout);
	input_close(in);
	free(x);
	free(q);
	return 0;
}
