/* mse: mean squared error and PSNR between two streams, sample by sample. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

static const char usage[] =
"Usage: mse [-p] [--masks] [--per-channel] A B\n"
"Mean squared error between two streams of the same shape and length,\n"
"read as intensities (uint8 and PGM mapped to [0,1], floats as they are),\n"
"accumulated in double. Prints TSV lines NAME<TAB>VALUE: mse over every\n"
"value, and psnr = 10 log10(1/mse) for peak 1 (inf when mse is 0).\n"
"A uint8 sample of only 0 and 1 values is a mask, not an image: an error\n"
"unless --masks says the streams are masks.\n"
"\n"
"      --masks        A and B are masks or probabilities: uint8 nonzero is 1,\n"
"                     other values must lie in 0..1 (the Brier score of a\n"
"                     prediction against 0/1 masks)\n"
"      --per-channel  also mse_K for each channel K of (C,H,W) samples\n"
"  -p, --per-sample   a header line, then one row per sample:\n"
"                     index, mse, psnr (and mse_K with --per-channel)\n"
"  -h, --help         show this help and exit\n"
"      --version      show the version and exit\n"
"\n"
"A or B may be -, standard input (not both).\n";

struct options {
	int per_sample;
	int per_channel;
	int masks;
	const char *file[2];
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_PER_CHANNEL = 256, OPT_MASKS };
	static const struct option longopts[] = {
		{ "per-sample", no_argument, NULL, 'p' },
		{ "per-channel", no_argument, NULL, OPT_PER_CHANNEL },
		{ "masks", no_argument, NULL, OPT_MASKS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->per_sample = 1; break;
		case OPT_PER_CHANNEL: o->per_channel = 1; break;
		case OPT_MASKS: o->masks = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 2, 2, o->file);
	if (cli_is_stdin(o->file[0]) && cli_is_stdin(o->file[1]))
		usage_die("A and B cannot both be standard input");
}

static double psnr(double mse)
{
	return mse == 0 ? INFINITY : 10 * log10(1 / mse);
}

/* print_cell: TAB and the value; NaN (from NaN input) always as "nan". */
static void print_cell(double v)
{
	if (isnan(v))
		fputs("\tnan", stdout);
	else
		printf("\t%.8g", v);
}

static void print_value(const char *name, double v)
{
	fputs(name, stdout);
	print_cell(v);
	putchar('\n');
}

/* sum_sq_diff: sum of (a - b)^2 in double. a (n), b (n) */
static double sum_sq_diff(const float *a, const float *b, int64_t n)
{
	double s = 0;

	for (int64_t i = 0; i < n; i++) {
		double d = (double)a[i] - (double)b[i];
		s += d * d;
	}
	return s;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	input *a, *b;
	const shape_t *sa, *sb;
	float *x, *y;
	double total = 0, *chan_total, *chan;
	int64_t c, hw, n, samples;
	enum role role;
	const char *hint;

	cli_init(argc, argv, "mse");
	parse_args(argc, argv, &o);
	a = input_open(o.file[0]);
	b = input_open(o.file[1]);
	hint = o.masks ? NULL : "0/1 masks: mse --masks reads uint8 nonzero as 1";
	input_label(a, "A", hint);
	input_label(b, "B", hint);
	role = o.masks ? ROLE_MASK : ROLE_IMAGE;
	sa = input_shape(a);
	sb = input_shape(b);
	if (shape_c(sa) != shape_c(sb) || shape_h(sa) != shape_h(sb) ||
	    shape_w(sa) != shape_w(sb))
		die("A %s has samples of %s, B %s of %s", input_name(a), shape_str(sa),
		    input_name(b), shape_str(sb));
	c = shape_c(sa);
	n = input_size(a);
	hw = n / c;
	x = xmalloc_array((size_t)n, sizeof *x);
	y = xmalloc_array((size_t)n, sizeof *y);
	chan_total = xcalloc((size_t)c, sizeof *chan_total);
	chan = xcalloc((size_t)c, sizeof *chan);

	if (o.per_sample) {
		printf("index\tmse\tpsnr");
		if (o.per_channel)
			for (int64_t k = 0; k < c; k++)
				printf("\tmse_%" PRId64, k);
		putchar('\n');
	}
	for (;;) {
		int ra = input_read(a, x, role);
		int rb = input_read(b, y, role);
		double sum = 0, m;

		if (ra != rb) {
			const input *shorter = ra ? b : a, *longer = ra ? a : b;
			die("%s %s ends after %" PRId64 " samples, %s %s has more",
			    ra ? "B" : "A", input_name(shorter), input_index(shorter),
			    ra ? "A" : "B", input_name(longer));
		}
		if (!ra)
			break;
		for (int64_t k = 0; k < c; k++) {
			chan[k] = sum_sq_diff(x + k * hw, y + k * hw, hw);
			chan_total[k] += chan[k];
			sum += chan[k];
		}
		total += sum;
		if (o.per_sample) {
			m = sum / (double)n;
			printf("%" PRId64, input_index(a) - 1);
			print_cell(m);
			print_cell(psnr(m));
			if (o.per_channel)
				for (int64_t k = 0; k < c; k++)
					print_cell(chan[k] / (double)hw);
			putchar('\n');
		}
	}
	samples = input_index(a);
	if (samples == 0)
		die("no samples in %s and %s", input_name(a), input_name(b));
	if (!o.per_sample) {
		double m = total / ((double)samples * (double)n);

		print_value("mse", m);
		print_value("psnr", psnr(m));
		if (o.per_channel)
			for (int64_t k = 0; k < c; k++) {
				char name[32];

				snprintf(name, sizeof name, "mse_%" PRId64, k);
				print_value(name, chan_total[k] / ((double)samples * (double)hw));
			}
	}
	output_check(stdout);
	input_close(a);
	input_close(b);
	free(x);
	free(y);
	free(chan_total);
	free(chan);
	return 0;
}
