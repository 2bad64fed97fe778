/* totsv: samples as tab-separated text rows, for awk and gnuplot. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor.h"

static const char usage[] =
"Usage: totsv [--header] [--index] [--precision P] [FILE]\n"
"Write every sample as one line of tab-separated values, flattened in C\n"
"order (channel, row, column); a stream of scalars gives one value per line.\n"
"uint8 streams are printed as integers 0..255; anything else as float32\n"
"intensities with printf's %.6g (or %.Pg).\n"
"\n"
"  -H, --header         a first line naming the columns: index (with --index),\n"
"                       then v0, v1, ... (value for scalars)\n"
"      --index          start each line with the sample's index, from 0\n"
"      --precision P    significant digits of floats, 1..17 (default 6)\n"
"  -h, --help           show this help and exit\n"
"      --version        show the version and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

struct options {
	int header;
	int index;
	int precision;
	int precision_given;
	const char *file;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "header", no_argument, NULL, 'H' },
		{ "index", no_argument, NULL, 'i' },
		{ "precision", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->precision = 6;
	while ((c = getopt_long(argc, argv, ":Hh", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': o->header = 1; break;
		case 'i': o->index = 1; break;
		case 'p':
			o->precision = (int)cli_long("--precision", optarg, 1, 17);
			o->precision_given = 1;
			break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 1, &o->file);
}

static void print_header(const struct options *o, int64_t size, int scalar)
{
	if (o->index)
		fputs(scalar || size ? "index\t" : "index", stdout);
	if (scalar) {
		fputs("value\n", stdout);
		return;
	}
	for (int64_t i = 0; i < size; i++)
		printf("%sv%" PRId64, i ? "\t" : "", i);
	putchar('\n');
}

/* put_u8: v as decimal digits at p; returns the end. */
static char *put_u8(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	input *in;
	int64_t size;
	float *x;
	int is_u8;

	cli_init(argc, argv, "totsv");
	parse_args(argc, argv, &o);
	in = input_open(o.file);
	size = input_size(in);
	is_u8 = input_is_u8(in);
	cli_no_effect(o.precision_given && is_u8, "--precision",
		      "on a uint8 stream (its values print as integers)");
	x = xmalloc_array((size_t)size, sizeof *x);
	/* values go out through stdio's buffer: memory is the sample, not its
	 * text (up to 25 bytes a value) */
	if (o.header)
		print_header(&o, size, input_shape(in)->ndim == 0);
	while (input_read(in, x, input_keep_role(in))) {
		if (o.index)
			printf("%" PRId64 "\t", input_index(in) - 1);
		for (int64_t i = 0; i < size; i++) {
			char v[32], *p = v;

			if (i)
				*p++ = '\t';
			if (is_u8)
				p = put_u8(p, (unsigned)x[i]);
			else
				p += snprintf(p, sizeof v - 1, "%.*g", o.precision, (double)x[i]);
			fwrite(v, 1, (size_t)(p - v), stdout);
		}
		putchar('\n');
		if (ferror(stdout))
			output_check(stdout);
	}
	output_check(stdout);
	input_close(in);
	free(x);
	return 0;
}
