/* chan: take some channels of every image. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

#define CHAN_MAX 256

static const char usage[] =
"Usage: chan -c LIST [-P] [FILE]\n"
"Take channels of every (C,H,W) image, in the order LIST gives them: -c 1,0\n"
"swaps two channels, -c 0,0 doubles one. One channel gives (H,W) images;\n"
"an (H,W) stream has the one channel 0. uint8 streams stay uint8; anything\n"
"else is written as float32 intensities.\n"
"\n"
"  -c, --channels LIST  comma-separated channel numbers, from 0\n"
"  -P, --pgm            write a PGM/PAM stream instead of a tensor stream\n"
"      --force          write the binary output even to a terminal\n"
"  -h, --help           show this help and exit\n"
"      --version        show the version and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

struct options {
	long chan[CHAN_MAX];
	int nchan;
	int pgm;
	const char *file;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "channels", required_argument, NULL, 'c' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":c:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->nchan = cli_list("--channels", optarg, o->chan, CHAN_MAX, 0, 65535);
			break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	if (o->nchan == 0)
		usage_die("missing -c LIST");
	cli_operands(argc, argv, optind, 0, 1, &o->file);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	input *in;
	output *out;
	const shape_t *s;
	shape_t os;
	int64_t c, plane;
	float *x, *y;

	cli_init(argc, argv, "chan");
	parse_args(argc, argv, &o);
	in = input_open(o.file);
	s = input_shape(in);
	input_require_images(in);
	c = shape_c(s);
	plane = shape_h(s) * shape_w(s);
	for (int i = 0; i < o.nchan; i++)
		if (o.chan[i] >= c)
			die("channel %ld out of range: images of shape %s have %" PRId64
			    " channel%s (%s)", o.chan[i], shape_str(s), c, c == 1 ? "" : "s",
			    input_name(in));
	if (o.nchan * plane > SAMPLE_MAX)
		die("%d channels are too large a sample (%s)", o.nchan, input_name(in));
	os = shape_chw(o.nchan, shape_h(s), shape_w(s));
	x = xmalloc_array((size_t)input_size(in), sizeof *x);
	y = xmalloc_array((size_t)shape_size(&os), sizeof *y);
	out = output_open(stdout, o.pgm, input_keep_dtype(in), &os);
	while (input_read(in, x, input_keep_role(in))) {
		for (int i = 0; i < o.nchan; i++)
			memcpy(y + i * plane, x + o.chan[i] * plane, (size_t)plane * sizeof *y);
		output_write(out, y);
	}
	output_close(out);
	input_close(in);
	free(x);
	free(y);
	return 0;
}
