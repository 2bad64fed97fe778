/* pick: select samples by label, shuffled, by range, by shard. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "labels.h"

#define KEEP_MAX 256

static const char usage[] =
"Usage: pick [--first N | --range A:B] [--labels FILE --keep LIST]\n"
"            [--labels-out FILE] [--index-out FILE] [--shuffle [-s SEED]]\n"
"            [--shard I/N] [-P] [FILE]\n"
"Select samples of a stream. The selections apply in this order:\n"
"  1. --labels/--keep   keep samples whose label is in LIST\n"
"  2. --shuffle         a seeded random permutation of what is left\n"
"  3. --first/--range   a slice of that\n"
"  4. --shard           every N-th of that, starting at I\n"
"uint8 streams stay uint8; anything else is written as float32.\n"
"\n"
"  -n, --first N          the first N samples (same as --range 0:N)\n"
"  -r, --range A:B        samples A..B-1, 0-based, as a Python slice: A or B\n"
"                         may be omitted, negative counts from the end,\n"
"                         out-of-range bounds are clipped\n"
"  -l, --labels FILE      labels, one scalar per sample (IDX or tensor stream)\n"
"  -k, --keep LIST        comma-separated labels to keep, e.g. 5,7\n"
"  -L, --labels-out FILE  write the labels of the selected samples there\n"
"                         (uint8 tensor stream, same order)\n"
"  -I, --index-out FILE   write the input position (0-based) of each selected\n"
"                         sample there, one a line, same order\n"
"  -R, --shuffle          shuffle (reads the whole stream into memory)\n"
"  -s, --seed SEED        random seed for --shuffle (default 1)\n"
"  -d, --shard I/N        keep the samples at positions p with p % N == I\n"
"  -P, --pgm              write a PGM/PAM stream instead of a tensor stream\n"
"      --force            write the binary output even to a terminal\n"
"  -h, --help             show this help and exit\n"
"      --version          show the version and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

struct options {
	int has_range;
	int64_t from, to;          /* the slice; INT64_MAX = to the end */
	const char *labels;
	long keep[KEEP_MAX];
	int nkeep;
	const char *labels_out;
	const char *index_out;
	int shuffle;
	uint64_t seed;
	int seed_given;
	int64_t shard_i, shard_n;
	int pgm;
	const char *file;
};

/* parse_bound: one side of A:B; empty means the default. */
static int64_t parse_bound(const char *opt, const char *arg, const char *s, size_t len,
			   int64_t dflt)
{
	char buf[32], *end;
	long long v;

	if (len == 0)
		return dflt;
	if (len >= sizeof buf)
		usage_die("%s: '%s' is not a range A:B", opt, arg);
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || *end)
		usage_die("%s: '%s' is not a range A:B", opt, arg);
	return v;
}

static void parse_range(const char *arg, struct options *o)
{
	const char *colon = strchr(arg, ':');

	if (!colon)
		usage_die("--range: '%s' is not a range A:B", arg);
	o->from = parse_bound("--range", arg, arg, colon - arg, 0);
	o->to = parse_bound("--range", arg, colon + 1, strlen(colon + 1), INT64_MAX);
}

static void parse_shard(const char *arg, struct options *o)
{
	char *end, *end2;
	long long i, n;

	errno = 0;
	i = strtoll(arg, &end, 10);
	if (errno || end == arg || *end != '/')
		usage_die("--shard: '%s' is not I/N", arg);
	n = strtoll(end + 1, &end2, 10);
	if (errno || end2 == end + 1 || *end2)
		usage_die("--shard: '%s' is not I/N", arg);
	if (n < 1 || i < 0 || i >= n)
		usage_die("--shard: '%s' needs 0 <= I < N", arg);
	o->shard_i = i;
	o->shard_n = n;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "first", required_argument, NULL, 'n' },
		{ "range", required_argument, NULL, 'r' },
		{ "labels", required_argument, NULL, 'l' },
		{ "keep", required_argument, NULL, 'k' },
		{ "labels-out", required_argument, NULL, 'L' },
		{ "index-out", required_argument, NULL, 'I' },
		{ "shuffle", no_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 's' },
		{ "shard", required_argument, NULL, 'd' },
		{ "pgm", no_argument, NULL, 'P' },
		CLI_FORCE_LONGOPT,
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	o->to = INT64_MAX;
	o->seed = 1;
	o->shard_n = 1;
	while ((c = getopt_long(argc, argv, ":n:r:l:k:L:I:Rs:d:Ph", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case 'r':
			if (o->has_range)
				usage_die("give one of --first and --range, once");
			o->has_range = 1;
			if (c == 'n')
				o->to = cli_long("--first", optarg, 0, LONG_MAX);
			else
				parse_range(optarg, o);
			break;
		case 'l': o->labels = optarg; break;
		case 'k':
			o->nkeep = cli_list("--keep", optarg, o->keep, KEEP_MAX,
					    -2147483647L, 2147483647L);
			break;
		case 'L': o->labels_out = optarg; break;
		case 'I': o->index_out = optarg; break;
		case 'R': o->shuffle = 1; break;
		case 's': o->seed = cli_seed("--seed", optarg); o->seed_given = 1; break;
		case 'd': parse_shard(optarg, o); break;
		case 'P': o->pgm = 1; break;
		case CLI_OPT_FORCE: binary_force = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 1, &o->file);
	if (!o->labels != !o->nkeep)
		usage_die("--labels and --keep go together");
	cli_no_effect(o->seed_given && !o->shuffle, "--seed", "without --shuffle");
	if (o->labels_out && !o->labels)
		usage_die("--labels-out needs --labels");
	if (o->labels && (!o->file || !strcmp(o->file, "-")) && !strcmp(o->labels, "-"))
		usage_die("data and labels cannot both be standard input");
}

/* selection: where the picked samples, their labels and positions go. */
struct sink {
	output *data;
	output *labels;
	FILE *labels_file;
	const char *labels_name;
	FILE *index_file;
	const char *index_name;
};

static void sink_open(struct sink *k, const struct options *o, int is_u8, const shape_t *shape)
{
	shape_t scalar = { 0, { 0, 0, 0 } };

	if (o->pgm && shape->ndim < 2)
		die("-P needs images, not samples of shape %s (%s)", shape_str(shape),
		    o->file ? o->file : "stdin");
	k->data = output_open(stdout, o->pgm, is_u8 ? DT_U8 : DT_F32, shape);
	k->labels = NULL;
	if (o->labels_out) {
		k->labels_file = atomic_open(o->labels_out);
		k->labels_name = o->labels_out;
		k->labels = output_open(k->labels_file, 0, DT_U8, &scalar);
		output_name(k->labels, o->labels_out);
	}
	/* a plain file: the atomic one (one a tool) may hold the labels */
	k->index_file = NULL;
	k->index_name = o->index_out;
	if (o->index_out && !(k->index_file = fopen(o->index_out, "w")))
		die("cannot write %s:", o->index_out);
}

/* sink_write: sample x, its label, and its position i in the input */
static void sink_write(struct sink *k, const float *x, float label, int64_t i)
{
	output_write(k->data, x);
	if (k->index_file)
		fprintf(k->index_file, "%" PRId64 "\n", i);
	if (k->labels) {
		if (!(label >= 0 && label <= 255 && label == (float)(int)label))
			die("label %g does not fit a uint8 label file (%s)", label, k->labels_name);
		output_write(k->labels, &label);
	}
}

static void sink_close(struct sink *k)
{
	output_close(k->data);
	if (k->labels) {
		output_close(k->labels);
		atomic_commit(k->labels_file);
	}
	if (k->index_file && (ferror(k->index_file) | fclose(k->index_file)))
		die("cannot write %s:", k->index_name);
}

static int keep_label(const struct options *o, float label)
{
	for (int i = 0; i < o->nkeep; i++)
		if (label == (float)o->keep[i])
			return 1;
	return 0;
}

/* read_label: the next label, an integer 0..LABEL_MAX as the stream layer
 * reads labels; 0 at the end */
static int read_label(input *lab, float *label)
{
	int32_t k;

	if (!labels_read(lab, &k, LABEL_MAX, "label"))
		return 0;
	*label = (float)k;
	return 1;
}

/* slice_resolve: Python's slice(from, to) over n items, as start and end. */
static void slice_resolve(int64_t from, int64_t to, int64_t n, int64_t *start, int64_t *end)
{
	if (from < 0)
		from = from + n < 0 ? 0 : from + n;
	if (to < 0)
		to = to + n < 0 ? 0 : to + n;
	*start = from > n ? n : from;
	*end = to > n ? n : to;
	if (*end < *start)
		*end = *start;
}

/* pick_stream: no shuffle, no negative bounds: one sample at a time. */
static void pick_stream(const struct options *o)
{
	input *in = input_open(o->file), *lab = NULL;
	int is_u8 = input_is_u8(in);
	enum role role = input_keep_role(in);
	float *x = xmalloc_array((size_t)input_size(in), sizeof *x), label = 0;
	int64_t pos = 0;   /* position after the label filter */
	int ended = 1;
	struct sink k;

	if (o->labels)
		lab = labels_open(o->labels, "labels");
	sink_open(&k, o, is_u8, input_shape(in));
	while (input_read(in, x, role)) {
		if (lab) {
			if (!read_label(lab, &label))
				die("fewer labels than samples (%s ends after %" PRId64
				    " labels, %s has more)", input_name(lab),
				    input_index(lab), input_name(in));
			if (!keep_label(o, label))
				continue;
		}
		if (pos >= o->to) {
			ended = 0;
			break;
		}
		if (pos++ < o->from)
			continue;
		if ((pos - 1 - o->from) % o->shard_n != o->shard_i)
			continue;
		sink_write(&k, x, label, input_index(in) - 1);
	}
	if (lab && ended && read_label(lab, &label))
		die("more labels than samples (%s has %" PRId64 " samples, %s has more labels)",
		    input_name(in), input_index(in), input_name(lab));
	sink_close(&k);
	input_close(in);
	input_close(lab);
	free(x);
}

/* pick_memory: the whole stream loaded; shuffled or sliced from the end. */
static void pick_memory(const struct options *o)
{
	dataset *d = dataset_load(o->file);
	float *labels = NULL, *x = xmalloc_array((size_t)d->size, sizeof *x);
	int64_t *idx = xmalloc_array((size_t)(d->n ? d->n : 1), sizeof *idx), m = 0;
	int64_t start, end;
	struct sink k;
	rng_t rng;

	if (o->labels) {
		input *lab = labels_open(o->labels, "labels");
		float extra;

		labels = xmalloc_array((size_t)(d->n ? d->n : 1), sizeof *labels);
		for (int64_t i = 0; i < d->n; i++)
			if (!read_label(lab, &labels[i]))
				die("fewer labels than samples (%s has %" PRId64
				    " labels, %s has %" PRId64 " samples)", input_name(lab),
				    i, d->name, d->n);
		if (read_label(lab, &extra))
			die("more labels than samples (%s has %" PRId64
			    " samples, %s has more labels)", d->name, d->n, input_name(lab));
		input_close(lab);
	}
	for (int64_t i = 0; i < d->n; i++)
		if (!labels || keep_label(o, labels[i]))
			idx[m++] = i;
	if (o->shuffle) {
		rng_seed(&rng, o->seed);
		rng_shuffle(&rng, idx, m);
	}
	slice_resolve(o->from, o->to, m, &start, &end);
	sink_open(&k, o, d->is_u8, &d->shape);
	for (int64_t p = start; p < end; p++) {
		if ((p - start) % o->shard_n != o->shard_i)
			continue;
		dataset_get(d, idx[p], x, d->is_u8 ? ROLE_RAW : ROLE_INTENSITY);
		sink_write(&k, x, labels ? labels[idx[p]] : 0, idx[p]);
	}
	sink_close(&k);
	dataset_free(d);
	free(labels);
	free(idx);
	free(x);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };

	cli_init(argc, argv, "pick");
	parse_args(argc, argv, &o);
	if (o.shuffle || o.from < 0 || o.to < 0)
		pick_memory(&o);
	else
		pick_stream(&o);
	return 0;
}
