/* iou: segmentation scores of a prediction stream against a truth stream. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "tensor.h"

#define CLASSES_MAX 65536

static const char usage[] =
"Usage: iou [-t T] [-C N [-i K[,K...]]...] [-p] PRED TRUTH\n"
"Scores a prediction stream against a truth stream, sample by sample,\n"
"and prints TSV lines NAME<TAB>VALUE.\n"
"\n"
"Binary (default): predicted foreground is PRED > T, compared in the\n"
"stream's own units (float probabilities as they are, uint8 and PGM as\n"
"stored, so 0/1 and 0/255 masks both work with T = 0.5); truth foreground\n"
"is TRUTH nonzero. Prints iou (pooled over all pixels), iou_mean (mean of\n"
"per-image IoU), dice, precision, recall, tp, fp, fn, tn. A ratio whose\n"
"denominator is 0 is 1 when prediction and truth are both empty, else 0.\n"
"\n"
"Classes (-C N): PRED and TRUTH are class maps (index 0..N-1 per pixel);\n"
"PRED may instead hold N channels of scores, taken by argmax. Prints\n"
"iou_K, dice_K, precision_K and recall_K per class (nan for a class\n"
"absent from both; precision 0 for a class never predicted but present,\n"
"recall 0 for one predicted but absent), then mean_iou, mean_dice,\n"
"mean_precision and mean_recall over the present classes not ignored.\n"
"--errors FILE writes one uint8 map per sample: 0 right, 1 missed (truth\n"
"foreground or digit, predicted background), 2 false (the reverse), 3 the\n"
"wrong class.\n"
"With --confusion, then confusion_T_P: the pixels of true class T\n"
"predicted as P, for every T and P (N up to 256).\n"
"\n"
"  -t, --threshold=T  foreground threshold for PRED (default 0.5)\n"
"  -C, --classes=N    class maps with N classes (1..65536)\n"
"  -i, --ignore=K,... leave classes out of the means (repeatable)\n"
"  -p, --per-sample   a header line, then one row per sample\n"
"      --confusion    with --classes: the confusion counts too\n"
"      --errors=FILE  the error maps as a stream in FILE\n"
"  -h, --help         show this help and exit\n"
"      --version      show the version and exit\n"
"\n"
"PRED or TRUTH may be -, standard input (not both).\n";

struct options {
	double threshold;
	int threshold_set;
	long classes;
	long ignore[CLASSES_MAX];
	int nignore;
	int per_sample;
	int confusion;
	const char *errors;    /* --errors FILE */
	const char *file[2];   /* PRED, TRUTH */
};

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "classes", required_argument, NULL, 'C' },
		{ "ignore", required_argument, NULL, 'i' },
		{ "per-sample", no_argument, NULL, 'p' },
		{ "confusion", no_argument, NULL, 'K' },
		{ "errors", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":t:C:i:ph", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->threshold = cli_double("--threshold", optarg, -1e30, 1e30);
			o->threshold_set = 1;
			break;
		case 'C': o->classes = cli_long("--classes", optarg, 1, CLASSES_MAX); break;
		case 'i':
			o->nignore += cli_list("--ignore", optarg, o->ignore + o->nignore,
					       CLASSES_MAX - o->nignore, 0, CLASSES_MAX - 1);
			break;
		case 'p': o->per_sample = 1; break;
		case 'K': o->confusion = 1; break;
		case 'E': o->errors = optarg; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 2, 2, o->file);
	if (cli_is_stdin(o->file[0]) && cli_is_stdin(o->file[1]))
		usage_die("PRED and TRUTH cannot both be standard input");
	if (o->nignore && !o->classes)
		usage_die("--ignore needs --classes");
	if (o->confusion && (!o->classes || o->classes > 256 || o->per_sample))
		usage_die("--confusion needs --classes N of at most 256, without --per-sample");
	if (o->threshold_set && o->classes)
		usage_die("--threshold does not apply with --classes");
	for (int i = 0; i < o->nignore; i++)
		if (o->ignore[i] >= o->classes)
			usage_die("--ignore: class %ld is not below --classes %ld",
				  o->ignore[i], o->classes);
}

/* ratio: num/den, with den == 0 meaning nothing to find and nothing found
 * when both is set (1), else a total miss (0). */
static double ratio(double num, double den, int both_empty)
{
	if (den == 0)
		return both_empty ? 1 : 0;
	return num / den;
}

static void print_value(const char *name, double v)
{
	if (isnan(v))
		printf("%s\tnan\n", name);
	else
		printf("%s\t%.8g\n", name, v);
}

static void print_cell(double v)
{
	if (isnan(v))
		fputs("\tnan", stdout);
	else
		printf("\t%.8g", v);
}

/* Binary counts of one sample or of the whole stream. */
typedef struct {
	int64_t tp, fp, fn, tn;
} counts;

/* binary_counts: pred (n), truth (n) */
static counts binary_counts(const float *pred, const float *truth, int64_t n, float t)
{
	int64_t tp = 0, np = 0, nt = 0;
	counts k;

	for (int64_t i = 0; i < n; i++) {
		int p = pred[i] > t, q = truth[i] != 0;
		tp += p & q;
		np += p;
		nt += q;
	}
	k.tp = tp;
	k.fp = np - tp;
	k.fn = nt - tp;
	k.tn = n - tp - k.fp - k.fn;
	return k;
}

static double counts_iou(const counts *k)
{
	int empty = k->tp + k->fp + k->fn == 0;
	return ratio((double)k->tp, (double)(k->tp + k->fp + k->fn), empty);
}

static double counts_dice(const counts *k)
{
	int empty = k->tp + k->fp + k->fn == 0;
	return ratio(2.0 * k->tp, 2.0 * k->tp + k->fp + k->fn, empty);
}

static double counts_precision(const counts *k)
{
	int empty = k->tp + k->fp + k->fn == 0;
	return ratio((double)k->tp, (double)(k->tp + k->fp), empty);
}

static double counts_recall(const counts *k)
{
	int empty = k->tp + k->fp + k->fn == 0;
	return ratio((double)k->tp, (double)(k->tp + k->fn), empty);
}

/* --errors: one uint8 map per sample, of TRUTH's shape, written atomically */
typedef struct {
	FILE *f;
	output *out;
	float *map;
} errors_out;

static void errors_open(errors_out *e, const char *path, const shape_t *truth)
{
	shape_t s = *truth;

	e->f = path ? atomic_open(path) : NULL;
	e->out = path ? output_open(e->f, 0, DT_U8, &s) : NULL;
	if (path)
		output_name(e->out, path);
	e->map = path ? xmalloc_array((size_t)shape_size(&s), sizeof *e->map) : NULL;
}

/* errors_code: 0 right, 1 missed, 2 false, 3 wrong class (background 0) */
static float errors_code(int32_t p, int32_t t)
{
	return p == t ? 0.0f : p == 0 ? 1.0f : t == 0 ? 2.0f : 3.0f;
}

static void errors_close(errors_out *e)
{
	if (!e->f)
		return;
	output_close(e->out);
	atomic_commit(e->f);
	free(e->map);
}

/* Both streams, opened together, read sample by sample. */
struct pair {
	input *pred, *truth;
	int argmax;          /* PRED holds N channels of scores */
	enum role pred_role; /* binary: probabilities or masks; raw with -t or scores */
	float *x, *y;        /* x (size of PRED), y (size of TRUTH) */
};

static int same_chw(const shape_t *a, const shape_t *b)
{
	return shape_c(a) == shape_c(b) && shape_h(a) == shape_h(b) &&
	       shape_w(a) == shape_w(b);
}

static void pair_open(struct pair *s, const struct options *o)
{
	const shape_t *a, *b;

	s->pred = input_open(o->file[0]);
	s->truth = input_open(o->file[1]);
	/* binary: TRUTH a 0/1 mask, PRED probabilities or a mask, unless -t
	 * says in what units PRED's scores are */
	input_label(s->pred, "PRED", "PRED is probabilities or a mask: an image? swapped "
		    "PRED and TRUTH? scores in other units need -t T");
	input_label(s->truth, "TRUTH", "TRUTH is a 0/1 mask: swapped PRED and TRUTH?");
	s->pred_role = o->classes || o->threshold_set ? ROLE_RAW : ROLE_PRED;
	a = input_shape(s->pred);
	b = input_shape(s->truth);
	s->argmax = o->classes > 1 && shape_c(a) == o->classes && shape_c(b) == 1 &&
		    shape_h(a) == shape_h(b) && shape_w(a) == shape_w(b);
	if (!s->argmax && !same_chw(a, b))
		die("PRED %s has samples of %s, TRUTH %s of %s", input_name(s->pred),
		    shape_str(a), input_name(s->truth), shape_str(b));
	/* class maps are read as integers straight into the caller's arrays */
	s->x = !o->classes || s->argmax ? xmalloc_array((size_t)input_size(s->pred), sizeof *s->x) : NULL;
	s->y = !o->classes ? xmalloc_array((size_t)input_size(s->truth), sizeof *s->y) : NULL;
}

/* pair_read: the next sample of both; 0 when both end together. With
 * class maps (pc, tc not NULL; pc NULL for scores taken by argmax) their
 * values are the stream layer's integers 0..nclass-1. */
static int pair_read(struct pair *s, int32_t *pc, int32_t *tc, long nclass)
{
	int a = pc ? input_read_ints(s->pred, pc, (int32_t)nclass - 1, "PRED")
		   : input_read(s->pred, s->x, s->pred_role);
	int b = tc ? input_read_ints(s->truth, tc, (int32_t)nclass - 1, "TRUTH")
		   : input_read(s->truth, s->y, ROLE_BINARY);

	if (a != b) {
		const input *shorter = a ? s->truth : s->pred, *longer = a ? s->pred : s->truth;
		die("%s %s ends after %" PRId64 " samples, %s %s has more",
		    a ? "TRUTH" : "PRED", input_name(shorter), input_index(shorter),
		    a ? "PRED" : "TRUTH", input_name(longer));
	}
	return a;
}

static void pair_close(struct pair *s)
{
	if (input_index(s->pred) == 0)
		die("no samples in %s and %s", input_name(s->pred), input_name(s->truth));
	input_close(s->pred);
	input_close(s->truth);
	free(s->x);
	free(s->y);
}

static void run_binary(const struct options *o)
{
	struct pair s;
	counts all = { 0, 0, 0, 0 };
	double iou_sum = 0;
	int64_t n;
	float t = (float)o->threshold;

	errors_out e;

	pair_open(&s, o);
	n = input_size(s.pred);
	errors_open(&e, o->errors, input_shape(s.truth));
	if (o->per_sample)
		printf("index\tiou\tdice\tprecision\trecall\ttp\tfp\tfn\ttn\n");
	while (pair_read(&s, NULL, NULL, 0)) {
		counts k = binary_counts(s.x, s.y, n, t);
		if (e.map) {
			for (int64_t i = 0; i < n; i++)
				e.map[i] = errors_code(s.x[i] > t, s.y[i] != 0);
			output_write(e.out, e.map);
		}
		double iou = counts_iou(&k);

		all.tp += k.tp;
		all.fp += k.fp;
		all.fn += k.fn;
		all.tn += k.tn;
		iou_sum += iou;
		if (o->per_sample) {
			printf("%" PRId64, input_index(s.pred) - 1);
			print_cell(iou);
			print_cell(counts_dice(&k));
			print_cell(counts_precision(&k));
			print_cell(counts_recall(&k));
			printf("\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
			       k.tp, k.fp, k.fn, k.tn);
		}
	}
	if (!o->per_sample && input_index(s.pred) > 0) {
		print_value("iou", counts_iou(&all));
		print_value("iou_mean", iou_sum / (double)input_index(s.pred));
		print_value("dice", counts_dice(&all));
		print_value("precision", counts_precision(&all));
		print_value("recall", counts_recall(&all));
		printf("tp\t%" PRId64 "\nfp\t%" PRId64 "\nfn\t%" PRId64 "\ntn\t%" PRId64 "\n",
		       all.tp, all.fp, all.fn, all.tn);
	}
	pair_close(&s);
	errors_close(&e);
}

/* argmax_classes: the first highest of c channel planes per pixel.
 * cls (hw), best (hw) scratch, v (c, hw) */
static void argmax_classes(int32_t *cls, float *best, const float *v, int64_t c, int64_t hw)
{
	memcpy(best, v, (size_t)hw * sizeof *best);
	memset(cls, 0, (size_t)hw * sizeof *cls);
	for (int64_t k = 1; k < c; k++) {
		const float *p = v + k * hw;
		for (int64_t i = 0; i < hw; i++)
			if (p[i] > best[i]) {
				best[i] = p[i];
				cls[i] = (int32_t)k;
			}
	}
}

/* Per-class pixel counts: predicted, true, both. */
typedef struct {
	int64_t *pred, *truth, *inter;
} class_counts;

static double class_iou(const class_counts *k, long c)
{
	int64_t uni = k->pred[c] + k->truth[c] - k->inter[c];
	return uni == 0 ? NAN : (double)k->inter[c] / (double)uni;
}

static double class_dice(const class_counts *k, long c)
{
	int64_t sum = k->pred[c] + k->truth[c];
	return sum == 0 ? NAN : 2.0 * (double)k->inter[c] / (double)sum;
}

/* precision: of the pixels predicted c, the share truly c; recall: of
 * the pixels truly c, the share predicted c (nan when c is absent from
 * both, 0 when the denominator alone is 0) */
static double class_precision(const class_counts *k, long c)
{
	if (k->pred[c] + k->truth[c] == 0)
		return NAN;
	return k->pred[c] == 0 ? 0 : (double)k->inter[c] / (double)k->pred[c];
}

static double class_recall(const class_counts *k, long c)
{
	if (k->pred[c] + k->truth[c] == 0)
		return NAN;
	return k->truth[c] == 0 ? 0 : (double)k->inter[c] / (double)k->truth[c];
}

/* class_means: mean IoU, Dice, precision and recall (m[0..3]) over the
 * present classes not ignored; 1 when there are none (nothing to find,
 * nothing falsely found). */
static void class_means(const class_counts *k, const unsigned char *ignored, long nclass,
			double *miou, double *mdice, double *m4)
{
	double sum[4] = { 0, 0, 0, 0 };
	long m = 0;

	for (long c = 0; c < nclass; c++) {
		if (ignored[c] || k->pred[c] + k->truth[c] == 0)
			continue;
		sum[0] += class_iou(k, c);
		sum[1] += class_dice(k, c);
		sum[2] += class_precision(k, c);
		sum[3] += class_recall(k, c);
		m++;
	}
	*miou = m ? sum[0] / m : 1;
	*mdice = m ? sum[1] / m : 1;
	if (m4) {
		m4[0] = m ? sum[2] / m : 1;
		m4[1] = m ? sum[3] / m : 1;
	}
}

static void run_classes(const struct options *o)
{
	struct pair s;
	long nc = o->classes;
	int64_t n, hw;
	int32_t *pc, *tc;
	float *best = NULL;
	unsigned char *ignored = xcalloc((size_t)nc, 1);
	class_counts all, one;
	double miou, mdice;

	for (int i = 0; i < o->nignore; i++)
		ignored[o->ignore[i]] = 1;
	errors_out e;

	pair_open(&s, o);
	n = input_size(s.truth);
	errors_open(&e, o->errors, input_shape(s.truth));
	hw = shape_h(input_shape(s.truth)) * shape_w(input_shape(s.truth));
	pc = xmalloc_array((size_t)n, sizeof *pc);
	tc = xmalloc_array((size_t)n, sizeof *tc);
	if (s.argmax)
		best = xmalloc_array((size_t)hw, sizeof *best);
	all.pred = xcalloc((size_t)nc, sizeof(int64_t));
	all.truth = xcalloc((size_t)nc, sizeof(int64_t));
	all.inter = xcalloc((size_t)nc, sizeof(int64_t));
	one.pred = xcalloc((size_t)nc, sizeof(int64_t));
	one.truth = xcalloc((size_t)nc, sizeof(int64_t));
	one.inter = xcalloc((size_t)nc, sizeof(int64_t));
	int64_t *conf = o->confusion ? xcalloc((size_t)(nc * nc), sizeof(int64_t)) : NULL;

	if (o->per_sample) {
		printf("index\tmean_iou\tmean_dice");
		for (long c = 0; c < nc; c++)
			printf("\tiou_%ld\tdice_%ld", c, c);
		putchar('\n');
	}
	while (pair_read(&s, s.argmax ? NULL : pc, tc, nc)) {
		if (s.argmax)
			argmax_classes(pc, best, s.x, nc, hw);
		memset(one.pred, 0, (size_t)nc * sizeof(int64_t));
		memset(one.truth, 0, (size_t)nc * sizeof(int64_t));
		memset(one.inter, 0, (size_t)nc * sizeof(int64_t));
		for (int64_t i = 0; i < n; i++) {
			one.pred[pc[i]]++;
			one.truth[tc[i]]++;
			one.inter[tc[i]] += pc[i] == tc[i];
		}
		if (conf)
			for (int64_t i = 0; i < n; i++)
				conf[(int64_t)tc[i] * nc + pc[i]]++;
		if (e.map) {
			for (int64_t i = 0; i < n; i++)
				e.map[i] = errors_code(pc[i], tc[i]);
			output_write(e.out, e.map);
		}
		for (long c = 0; c < nc; c++) {
			all.pred[c] += one.pred[c];
			all.truth[c] += one.truth[c];
			all.inter[c] += one.inter[c];
		}
		if (o->per_sample) {
			class_means(&one, ignored, nc, &miou, &mdice, NULL);
			printf("%" PRId64, input_index(s.pred) - 1);
			print_cell(miou);
			print_cell(mdice);
			for (long c = 0; c < nc; c++) {
				print_cell(class_iou(&one, c));
				print_cell(class_dice(&one, c));
			}
			putchar('\n');
		}
	}
	if (!o->per_sample && input_index(s.pred) > 0) {
		char name[32];

		for (long c = 0; c < nc; c++) {
			snprintf(name, sizeof name, "iou_%ld", c);
			print_value(name, class_iou(&all, c));
			snprintf(name, sizeof name, "dice_%ld", c);
			print_value(name, class_dice(&all, c));
			snprintf(name, sizeof name, "precision_%ld", c);
			print_value(name, class_precision(&all, c));
			snprintf(name, sizeof name, "recall_%ld", c);
			print_value(name, class_recall(&all, c));
		}
		double pr[2];
		class_means(&all, ignored, nc, &miou, &mdice, pr);
		print_value("mean_iou", miou);
		print_value("mean_dice", mdice);
		print_value("mean_precision", pr[0]);
		print_value("mean_recall", pr[1]);
		for (long t = 0; conf && t < nc; t++)
			for (long c = 0; c < nc; c++)
				printf("confusion_%ld_%ld\t%" PRId64 "\n", t, c, conf[t * nc + c]);
	}
	pair_close(&s);
	errors_close(&e);
	free(pc);
	free(tc);
	free(best);
	free(ignored);
	free(all.pred); free(all.truth); free(all.inter);
	free(one.pred); free(one.truth); free(one.inter);
	free(conf);
}

int main(int argc, char **argv)
{
	static struct options o = { .threshold = 0.5 };

	cli_init(argc, argv, "iou");
	parse_args(argc, argv, &o);
	if (o.classes)
		run_classes(&o);
	else
		run_binary(&o);
	output_check(stdout);
	return 0;
}
