/* clip: clamp every value of a stream to [LO,HI]. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor.h"

static const char usage[] =
"Usage: clip [--low LO] [--high HI] [-P] [FILE]\n"
"Clamp every value of every sample to [LO,HI] (default [0,1], the range of\n"
"intensities): below LO becomes LO, above HI becomes HI; NaN stays NaN.\n"
"Output: float32 intensities (uint8 input is divided by 255).\n"
"\n"
"      --low LO     lower bound (default 0)\n"
"      --high HI    upper bound (default 1)\n"
"  -P, --pgm        write a PGM stream (PAM for C > 1) instead\n"
"      --force      write the binary output even to a terminal\n"
"  -h, --help       show this help and exit\n"
"      --version    show the version and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

struct options {
	float lo, hi;
	int pgm;
	const char *file;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_VERSION = 256 };
	static const struct option longopts[] = {
		{ "low", required_argument, NULL, 'l' },
		{ "high", required_argument, NULL, 'u' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o->lo = (float)cli_double("--low", optarg, -3.4e38, 3.4e38); break;
		case 'u': o->hi = (float)cli_double("--high", optarg, -3.4e38, 3.4e38); break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case OPT_VERSION: cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 1, &o->file);
	if (o->lo > o->hi)
		usage_die("--low %g is above --high %g", o->lo, o->hi);
}

/* clip_sample: x (n) clamped to [lo,hi] in place; NaN fails both tests. */
static void clip_sample(float *x, int64_t n, float lo, float hi)
{
	for (int64_t i = 0; i < n; i++) {
		if (x[i] < lo)
			x[i] = lo;
		else if (x[i] > hi)
			x[i] = hi;
	}
}

int main(int argc, char **argv)
{
	struct options o = { .lo = 0, .hi = 1 };
	input *in;
	output *out;
	float *x;
	int64_t n;

	cli_init(argc, argv, "clip");
	parse_args(argc, argv, &o);
	in = input_open(o.file);
	n = input_size(in);
	x = xmalloc_array((size_t)n, sizeof *x);
	out = output_open(stdout, o.pgm, DT_F32, input_shape(in));
	while (input_read(in, x, ROLE_INTENSITY)) {
		clip_sample(x, n, o.lo, o.hi);
		output_write(out, x);
	}
	output_close(out);
	input_close(in);
	free(x);
	return 0;
}
