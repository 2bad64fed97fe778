/* stack: join image streams as channels, sample by sample. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

static const char usage[] =
"Usage: stack [-P] A B [C...]\n"
"Join image streams as channels, sample by sample: (H,W) and (H,W) give\n"
"(2,H,W); (C1,H,W) and (C2,H,W) give (C1+C2,H,W), channels in the order of\n"
"the operands. The streams must have the same number of samples and the\n"
"same H and W. The output is uint8 when every input is uint8, else float32\n"
"intensities (uint8 inputs then become value/255).\n"
"\n"
"  -P, --pgm      write a PAM stream instead of a tensor stream\n"
"      --force    write the binary output even to a terminal\n"
"  -h, --help     show this help and exit\n"
"      --version  show the version and exit\n"
"\n"
"One operand may be -, standard input.\n";

#define STACK_MAX 64

struct options {
	int pgm;
	int n;
	const char *files[STACK_MAX];
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, stdin_uses = 0;

	while ((c = getopt_long(argc, argv, ":Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	o->n = argc - optind;
	cli_operands(argc, argv, optind, 2, STACK_MAX, o->files);
	for (int i = 0; i < o->n; i++)
		stdin_uses += strcmp(o->files[i], "-") == 0;
	if (stdin_uses > 1)
		usage_die("only one operand can be standard input");
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	input *in[STACK_MAX] = { 0 };
	int64_t chans = 0, h, w, off[STACK_MAX + 1];
	int all_u8 = 1, more;
	output *out;
	shape_t os;
	float *x;

	cli_init(argc, argv, "stack");
	parse_args(argc, argv, &o);
	for (int i = 0; i < o.n; i++) {
		const shape_t *s;

		in[i] = input_open(o.files[i]);
		s = input_shape(in[i]);
		input_require_images(in[i]);
		if (i > 0 && (shape_h(s) != shape_h(input_shape(in[0])) ||
			      shape_w(s) != shape_w(input_shape(in[0]))))
			die("image sizes differ: %s is %" PRId64 "x%" PRId64 ", %s is %"
			    PRId64 "x%" PRId64, input_name(in[0]), shape_w(input_shape(in[0])),
			    shape_h(input_shape(in[0])), input_name(in[i]), shape_w(s),
			    shape_h(s));
		off[i] = chans;
		chans += shape_c(s);
		all_u8 &= input_is_u8(in[i]);
	}
	off[o.n] = chans;
	h = shape_h(input_shape(in[0]));
	w = shape_w(input_shape(in[0]));
	if (chans * h * w > SAMPLE_MAX)
		die("%" PRId64 " channels of %" PRId64 "x%" PRId64 " are too large a sample",
		    chans, w, h);
	os = (shape_t){ 3, { chans, h, w } };
	x = xmalloc_array((size_t)(chans * h * w), sizeof *x);
	out = output_open(stdout, o.pgm, all_u8 ? DT_U8 : DT_F32, &os);
	for (;;) {
		more = input_read(in[0], x, all_u8 ? ROLE_RAW : ROLE_INTENSITY);
		for (int i = 1; i < o.n; i++) {
			int got = input_read(in[i], x + off[i] * h * w,
					     all_u8 ? ROLE_RAW : ROLE_INTENSITY);
			if (got != more) {
				int short_one = got ? 0 : i;
				die("%s ends after %" PRId64 " samples, before %s",
				    input_name(in[short_one]), input_index(in[short_one]),
				    input_name(in[short_one ? 0 : i]));
			}
		}
		if (!more)
			break;
		output_write(out, x);
	}
	output_close(out);
	for (int i = 0; i < o.n; i++)
		input_close(in[i]);
	free(x);
	return 0;
}
