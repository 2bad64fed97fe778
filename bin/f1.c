/* f1: classification scores of predicted labels against true labels. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "labels.h"

#define CLASSES_MAX 65536
#define CONFUSION_MAX 4096   /* classes of a confusion matrix: 16M cells */

static const char usage[] =
"Usage: f1 [-C K] [--confusion FILE] TRUTH PRED\n"
"Scores predicted classes against true ones and prints TSV lines\n"
"NAME<TAB>VALUE: accuracy, macro_f1, weighted_f1, macro_precision,\n"
"macro_recall, samples, then precision_K, recall_K, f1_K and support_K\n"
"for each class K.\n"
"\n"
"TRUTH holds one integer label per sample (an IDX label file or a stream\n"
"of scalars). PRED holds labels too, or one vector of K class scores per\n"
"sample (the probabilities of predict), taken by argmax (the first on a\n"
"tie). A class neither true nor predicted anywhere has nan scores and is\n"
"left out of the macro means; a score whose denominator is 0 is 0.\n"
"\n"
"  -C, --classes=K      K classes, labels 0..K-1 (default: the score\n"
"                       vectors' length, else the largest label + 1)\n"
"      --confusion=FILE write the confusion matrix there as TSV: a header\n"
"                       line, then one row per true class, one column per\n"
"                       predicted class\n"
"  -h, --help           show this help and exit\n"
"      --version        show the version and exit\n"
"\n"
"TRUTH or PRED may be -, standard input (not both).\n";

struct options {
	long classes;            /* 0: found from the data */
	const char *confusion;
	const char *file[2];     /* TRUTH, PRED */
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_CONFUSION = 256 };
	static const struct option longopts[] = {
		{ "classes", required_argument, NULL, 'C' },
		{ "confusion", required_argument, NULL, OPT_CONFUSION },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":C:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': o->classes = cli_long("--classes", optarg, 1, CLASSES_MAX); break;
		case OPT_CONFUSION: o->confusion = optarg; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 2, 2, o->file);
	if (cli_is_stdin(o->file[0]) && cli_is_stdin(o->file[1]))
		usage_die("TRUTH and PRED cannot both be standard input");
	if (o->confusion && o->classes > CONFUSION_MAX)
		usage_die("--confusion: at most %d classes, not %ld", CONFUSION_MAX, o->classes);
}

/* argmax: the first highest of v (n); NaN is an error. */
static int32_t argmax(const float *v, int64_t n, const input *in)
{
	int32_t best = 0;

	for (int64_t i = 0; i < n; i++) {
		if (isnan(v[i]))
			die("PRED score %" PRId64 " is NaN (%s, sample %" PRId64 ")", i,
			    input_name(in), input_index(in) - 1);
		if (v[i] > v[best])
			best = (int32_t)i;
	}
	return best;
}

/* The two label columns, read whole. */
struct pairs {
	int64_t n;
	int32_t *truth, *pred;   /* (n) each */
	long classes;
};

static void read_pairs(struct pairs *p, const struct options *o)
{
	input *t = labels_open(o->file[0], "TRUTH labels");
	input *q = input_open(o->file[1]);
	int64_t k = input_size(q), cap = 1024, n = 0;
	int scores = k > 1;
	int32_t max, top = 0;
	float *v = xmalloc_array((size_t)k, sizeof *v);

	if (scores && o->classes && o->classes != k)
		die("PRED holds scores of %" PRId64 " classes, not --classes %ld (%s)", k,
		    o->classes, input_name(q));
	if (scores && k > CLASSES_MAX)
		die("PRED holds vectors of %" PRId64 " scores, more than %d classes (%s)", k,
		    CLASSES_MAX, input_name(q));
	p->classes = scores ? (long)k : o->classes;
	max = p->classes ? (int32_t)p->classes - 1 : CLASSES_MAX - 1;
	p->truth = xmalloc_array((size_t)cap, sizeof *p->truth);
	p->pred = xmalloc_array((size_t)cap, sizeof *p->pred);
	for (;;) {
		int a = labels_read(t, &p->truth[n], max, "TRUTH label"), b;

		if (scores) {
			b = input_read(q, v, ROLE_RAW);
			if (b)
				p->pred[n] = argmax(v, k, q);
		} else {
			b = labels_read(q, &p->pred[n], max, "PRED label");
		}
		if (a != b)
			die("%s %s ends after %" PRId64 " samples, %s %s has more",
			    a ? "PRED" : "TRUTH", a ? input_name(q) : input_name(t), n,
			    a ? "TRUTH" : "PRED", a ? input_name(t) : input_name(q));
		if (!a)
			break;
		if (p->truth[n] > top)
			top = p->truth[n];
		if (p->pred[n] > top)
			top = p->pred[n];
		if (++n == cap) {
			cap *= 2;
			p->truth = xrealloc(p->truth, (size_t)cap * sizeof *p->truth);
			p->pred = xrealloc(p->pred, (size_t)cap * sizeof *p->pred);
		}
	}
	if (n == 0)
		die("no samples in %s and %s", input_name(t), input_name(q));
	if (!p->classes)
		p->classes = (long)top + 1;
	p->n = n;
	input_close(t);
	input_close(q);
	free(v);
}

static void print_value(const char *name, double v)
{
	if (isnan(v))
		printf("%s\tnan\n", name);
	else
		printf("%s\t%.8g\n", name, v);
}

static double ratio(double num, double den)
{
	return den == 0 ? 0 : num / den;
}

static void write_confusion(const struct pairs *p, const char *path)
{
	long K = p->classes;
	int64_t *m;
	FILE *f;

	if (K > CONFUSION_MAX)
		die("--confusion: at most %d classes, not %ld (labels up to %ld)",
		    CONFUSION_MAX, K, K - 1);
	m = xcalloc((size_t)K * (size_t)K, sizeof *m);
	for (int64_t i = 0; i < p->n; i++)
		m[(int64_t)p->truth[i] * K + p->pred[i]]++;
	f = atomic_open(path);
	fputs("truth\\pred", f);
	for (long c = 0; c < K; c++)
		fprintf(f, "\t%ld", c);
	fputc('\n', f);
	for (long r = 0; r < K; r++) {
		fprintf(f, "%ld", r);
		for (long c = 0; c < K; c++)
			fprintf(f, "\t%" PRId64, m[r * K + c]);
		fputc('\n', f);
	}
	atomic_commit(f);
	free(m);
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct pairs p;
	int64_t *tp, *npred, *support, correct = 0;
	double mp = 0, mr = 0, mf = 0, wf = 0;
	long K, present = 0;
	char name[40];

	cli_init(argc, argv, "f1");
	parse_args(argc, argv, &o);
	read_pairs(&p, &o);
	K = p.classes;
	tp = xcalloc((size_t)K, sizeof *tp);
	npred = xcalloc((size_t)K, sizeof *npred);
	support = xcalloc((size_t)K, sizeof *support);
	for (int64_t i = 0; i < p.n; i++) {
		int hit = p.truth[i] == p.pred[i];
		support[p.truth[i]]++;
		npred[p.pred[i]]++;
		tp[p.truth[i]] += hit;
		correct += hit;
	}
	if (o.confusion)
		write_confusion(&p, o.confusion);
	for (long c = 0; c < K; c++) {
		double pr = ratio((double)tp[c], (double)npred[c]);
		double re = ratio((double)tp[c], (double)support[c]);
		double f = ratio(2 * pr * re, pr + re);

		if (support[c] + npred[c] == 0)
			continue;
		present++;
		mp += pr;
		mr += re;
		mf += f;
		wf += f * (double)support[c];
	}
	print_value("accuracy", (double)correct / (double)p.n);
	print_value("macro_f1", mf / (double)present);
	print_value("weighted_f1", wf / (double)p.n);
	print_value("macro_precision", mp / (double)present);
	print_value("macro_recall", mr / (double)present);
	printf("samples\t%" PRId64 "\n", p.n);
	for (long c = 0; c < K; c++) {
		int absent = support[c] + npred[c] == 0;
		double pr = absent ? NAN : ratio((double)tp[c], (double)npred[c]);
		double re = absent ? NAN : ratio((double)tp[c], (double)support[c]);
		double f = absent ? NAN : ratio(2 * pr * re, pr + re);

		snprintf(name, sizeof name, "precision_%ld", c);
		print_value(name, pr);
		snprintf(name, sizeof name, "recall_%ld", c);
		print_value(name, re);
		snprintf(name, sizeof name, "f1_%ld", c);
		print_value(name, f);
		printf("support_%ld\t%" PRId64 "\n", c, support[c]);
	}
	output_check(stdout);
	free(tp);
	free(npred);
	free(support);
	free(p.truth);
	free(p.pred);
	return 0;
}
