/* mix: weighted average of two streams, sample by sample. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

static const char usage[] =
"Usage: mix [-w W] [-R [-s SEED]] [-P] A B\n"
"Write W*a + (1-W)*b for each pair of samples a of A and b of B, as float32\n"
"intensities (uint8 input is divided by 255). A and B must hold the same\n"
"number of samples of the same shape.\n"
"\n"
"  -w, --weight W    weight of A (default 0.5); B gets 1-W\n"
"  -R, --shuffle     pair A's samples with a random permutation of B's\n"
"                    (B is read into memory)\n"
"  -s, --seed SEED   seed of the --shuffle permutation (default 1)\n"
"  -P, --pgm         write a PGM stream (PAM for C > 1) instead\n"
"      --force       write the binary output even to a terminal\n"
"  -h, --help        show this help and exit\n"
"      --version     show the version and exit\n"
"\n"
"Either A or B (not both) may be -, standard input.\n";

struct options {
	float w;
	int shuffle;
	uint64_t seed;
	int seed_given;
	int pgm;
	const char *files[2];   /* A, B */
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_SHUFFLE = 256, OPT_VERSION };
	static const struct option longopts[] = {
		{ "weight", required_argument, NULL, 'w' },
		{ "shuffle", no_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 's' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":w:Rs:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'w': o->w = (float)cli_double("--weight", optarg, -1e6, 1e6); break;
		case 'R': o->shuffle = 1; break;
		case 's': o->seed = cli_seed("--seed", optarg); o->seed_given = 1; break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case OPT_VERSION: cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 2, 2, o->files);
	cli_no_effect(o->seed_given && !o->shuffle, "--seed", "without --shuffle");
	if (cli_is_stdin(o->files[0]) && cli_is_stdin(o->files[1]))
		usage_die("A and B cannot both be standard input");
}

/* mix_sample: out = w*a + (1-w)*b; out (n), a (n), b (n); out may be a. */
static void mix_sample(float *out, const float *a, const float *b, float w, int64_t n)
{
	float v = 1 - w;

	for (int64_t i = 0; i < n; i++)
		out[i] = w * a[i] + v * b[i];
}

static noreturn void die_length(const char *longer, const char *shorter, int64_t n)
{
	die("%s has more samples than %s (%s, sample %lld)", longer, shorter,
	    longer, (long long)n);
}

int main(int argc, char **argv)
{
	struct options o = { .w = 0.5f, .seed = 1 };
	input *a, *b = NULL;
	dataset *bset = NULL;
	int64_t *perm = NULL;
	const shape_t *sb;
	const char *name_b;
	output *out;
	float *x, *y;
	int64_t n, i = 0;
	rng_t rng;

	cli_init(argc, argv, "mix");
	parse_args(argc, argv, &o);
	a = input_open(o.files[0]);
	if (o.shuffle) {
		bset = dataset_load(o.files[1]);
		sb = &bset->shape;
		name_b = bset->name;
		perm = xmalloc_array((size_t)bset->n + 1, sizeof *perm);
		for (int64_t k = 0; k < bset->n; k++)
			perm[k] = k;
		rng_seed(&rng, o.seed);
		rng_shuffle(&rng, perm, bset->n);
	} else {
		b = input_open(o.files[1]);
		sb = input_shape(b);
		name_b = input_name(b);
	}
	if (!shape_equal(input_shape(a), sb))
		die("sample shapes differ: %s in %s, %s in %s", shape_str(input_shape(a)),
		    input_name(a), shape_str(sb), name_b);
	n = input_size(a);
	x = xmalloc_array((size_t)n, sizeof *x);
	y = xmalloc_array((size_t)n, sizeof *y);
	out = output_open(stdout, o.pgm, DT_F32, input_shape(a));
	while (input_read(a, x, ROLE_INTENSITY)) {
		if (o.shuffle) {
			if (i == bset->n)
				die_length(input_name(a), name_b, i);
			dataset_get(bset, perm[i], y, ROLE_INTENSITY);
		} else if (!input_read(b, y, ROLE_INTENSITY)) {
			die_length(input_name(a), name_b, i);
		}
		mix_sample(x, x, y, o.w, n);
		output_write(out, x);
		i++;
	}
	if (o.shuffle ? i < bset->n : input_read(b, y, ROLE_INTENSITY))
		die_length(name_b, input_name(a), i);
	output_close(out);
	input_close(a);
	input_close(b);
	dataset_free(bset);
	free(perm);
	free(x);
	free(y);
	return 0;
}
