/* trainer.c: the one trainer of every train-* tool (see trainer.h). */
#include <limits.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "trainer.h"
#include "batch.h"
#include "cli.h"
#include "dist.h"
#include "history.h"

train_options train_defaults(int epochs, int batch)
{
	train_options o = { .epochs = epochs, .batch = batch, .lr = 1e-3f, .seed = 1 };

	o.net.precision = TRAIN_PRECISION_DEFAULT;
	kern_set_precision(o.net.precision);   /* what --version shows */
	return o;
}

int trainer_option(train_options *o, int c, const char *arg, int argc, char **argv)
{
	switch (c) {
	case 'o': o->output = arg; break;
	case 'e':
		o->epochs = (int)cli_long("--epochs", arg, 1, 100000);
		o->epochs_given = 1;
		break;
	case 'b':
		o->batch = (int)cli_long("--batch", arg, 1, 65536);
		o->model_kept = "--batch";
		break;
	case TRAIN_OPT_LR:
		o->lr = (float)cli_double("--lr", arg, 1e-12, 10);
		o->model_kept = "--lr";
		break;
	case TRAIN_OPT_WD:
		o->weight_decay = (float)cli_double("--weight-decay", arg, 0, 10);
		o->model_kept = "--weight-decay";
		break;
	case TRAIN_OPT_VALF: o->val_fraction = cli_double("--val-fraction", arg, 0, 0.9); break;
	case TRAIN_OPT_VAL:
		/* --val INPUTS TARGETS: the option takes the next word too */
		if (optind >= argc)
			usage_die("--val needs INPUTS and TARGETS");
		o->val_in = arg;
		o->val_tgt = argv[optind++];
		break;
	case TRAIN_OPT_PAT: o->patience = (int)cli_long("--patience", arg, 1, 100000); break;
	case TRAIN_OPT_PLAT: o->plateau = (int)cli_long("--plateau", arg, 1, 100000); break;
	case TRAIN_OPT_COS: o->cosine = 1; o->model_kept = "--cosine"; break;
	case TRAIN_OPT_HIST: o->history = arg; break;
	case TRAIN_OPT_RESUME: o->resume = arg; break;
	case 's': o->seed = cli_seed("--seed", arg); o->model_kept = "--seed"; break;
	case 'j': o->threads = cli_threads("--threads", arg); break;
	case TRAIN_OPT_CHUNKS:
		o->chunks = (int)cli_long("--chunks", arg, 1, 65536);
		o->model_kept = "--chunks";
		break;
	case CLI_OPT_FORCE: binary_force = 1; break;
	case TRAIN_OPT_UNTIL: o->until = (int)cli_long("--until", arg, 1, 100000); break;
	default: return net_option(&o->net, c, arg);
	}
	return 1;
}

int trainer_arch_int(train_options *o, const char *name, const char *arg, long lo, long hi)
{
	o->model_kept = name;
	return (int)cli_long(name, arg, lo, hi);
}

double trainer_arch_double(train_options *o, const char *name, const char *arg, double lo,
			   double hi)
{
	o->model_kept = name;
	return cli_double(name, arg, lo, hi);
}

int trainer_arch_act(train_options *o, const char *arg)
{
	int v = act_parse(arg);

	if (v < 0)
		usage_die("--activation: '%s' is not relu, leaky_relu, tanh or sigmoid", arg);
	o->model_kept = "--activation";
	return v;
}

/* check_until: --until N past the run's epochs would end nothing early */
static void check_until(const train_options *o)
{
	if (o->until > o->epochs)
		usage_die("--until %d does nothing past the run's %d epochs (--epochs)", o->until,
			  o->epochs);
}

void trainer_check_options(const train_options *o)
{
	if (!o->output)
		usage_die("the model file (-o MODEL) is required");
	if ((o->patience || o->plateau) && !o->val_in && o->val_fraction == 0)
		usage_die("--patience and --plateau need validation data (--val or --val-fraction)");
	if (o->val_in && o->val_fraction > 0)
		usage_die("--val and --val-fraction exclude each other");
	if (o->chunks > o->batch && !o->resume)
		usage_die("--chunks %d is more than the batch of %d", o->chunks, o->batch);
	/* a resumed run keeps the settings it started with (trainer_init) */
	cli_no_effect(o->resume && o->net.precision_given, "--precision",
		      "with --resume (the run keeps its model's settings)");
	cli_no_effect(o->resume && o->model_kept, o->model_kept,
		      "with --resume (the run keeps its model's settings)");
	cli_no_effect(binary_force && strcmp(o->output, "-") != 0, "--force",
		      "without -o - (a model file is not a terminal)");
	if (!o->resume)
		check_until(o);
}

/* ---- data parallel (dist.h, man 7 segpipe-mpi): every batch in o->chunks
 * fixed chunks, shared out over the ranks; their gradients, statistics and
 * losses summed by the fixed tree ---- */

/* check_chunks: the chunk count of a new run is the rank count unless
 * given; a rank without a chunk idles */
static void check_chunks(train_options *o)
{
	if (!o->chunks)
		o->chunks = dist_size();
	if (o->chunks > o->batch)
		die("%d chunks are more than the batch of %d", o->chunks, o->batch);
	if (dist_size() > o->chunks && dist_rank() == 0)
		warnx("%d ranks but %d chunk%s per batch: the ranks from %d on have nothing to compute",
		      dist_size(), o->chunks, o->chunks > 1 ? "s" : "", o->chunks);
}

/* check_writable: a file the run will write by name can be made there: its directory exists and takes a new
 * file, and it is not a directory itself; else die now, before any data is
 * read or any epoch trained. A device or FIFO is written as it is. */
static void check_writable(const char *path)
{
	struct stat st;
	char dir[4096], probe[4120];
	const char *slash = strrchr(path, '/');
	int fd;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			die("cannot write %s: it is a directory", path);
		if (!S_ISREG(st.st_mode))
			return;
	}
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) != 0)
		die("cannot write %s: %s: %s", path, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		die("cannot write %s: %s is not a directory", path, dir);
	/* the trainer writes a temporary file beside path and renames it */
	snprintf(probe, sizeof probe, "%s/.segpipe-probeXXXXXX", dir);
	fd = mkstemp(probe);
	if (fd < 0)
		die("cannot write %s: %s: %s", path, dir, strerror(errno));
	close(fd);
	unlink(probe);
}

/* check_outputs: the model and the history can be written (-o - is
 * standard output: binary, so not a terminal) */
static void check_outputs(const train_options *o)
{
	if (strcmp(o->output, "-") == 0)
		binary_out_check(stdout, "a model");
	else
		check_writable(o->output);
	if (o->history)
		check_writable(o->history);
}

void trainer_init(trainer *t, train_options *o, const char *kind)
{
	check_outputs(o);
	memset(t, 0, sizeof *t);
	t->o = o;
	dist_init();
	nn_set_threads(o->threads ? o->threads : dist_cpus());
	model_init(&t->m, kind);
	if (o->resume) {
		/* the run goes on with the settings it started with */
		model_read(&t->m, o->resume);
		if (strcmp(t->m.kind, kind) != 0)
			die("%s: the model is a%s %s, not a%s %s", o->resume,
			    t->m.kind[0] == 'm' ? "n" : "", t->m.kind, kind[0] == 'm' ? "n" : "", kind);
		if (!isfinite(t->m.lr) || t->m.lr <= 0)
			die("%s: lr %g is not a positive finite learning rate", o->resume, t->m.lr);
		o->batch = t->m.batch;
		o->weight_decay = t->m.weight_decay;
		o->seed = t->m.seed;
		o->cosine = t->m.cosine;
		o->net.precision = t->m.precision;
		if (!o->epochs_given)
			o->epochs = t->m.epochs;
		if (o->batch < 1 || o->batch > 65536)   /* what --batch takes */
			die("%s: batch %d out of range 1..65536", o->resume, o->batch);
		o->chunks = t->m.chunks ? t->m.chunks : 1;
		check_until(o);   /* the epochs are known now */
	} else {
		t->m.lr = o->lr;
		t->m.precision = o->net.precision;
	}
	check_chunks(o);
	net_use_precision(o->net.precision, o->net.verbose);
}

/* check_finite: every value of d in memory is a number (uint8 data always
 * is); under mpirun each rank checks the samples it keeps */
static void check_finite(const dataset *d)
{
	if (d->is_u8)
		return;
	for (int64_t i = 0; i < d->nkept * d->size; i++)
		if (!isfinite(d->f32[i]))
			die("a non-finite value (%g) in the samples (%s, sample %" PRId64 ")",
			    d->f32[i], d->name, dataset_index(d, i / d->size));
}

static void check_count(const dataset *in, const dataset *tg)
{
	if (in->n != tg->n)
		die("%" PRId64 " inputs but %" PRId64 " targets (%s, %s)", in->n, tg->n,
		    in->name, tg->name);
	if (in->n == 0)
		die("no training data (%s)", in->name);
}

/* val_batches: the validation batches [*b0, *b1) of nval samples in
 * batches of batch that this rank evaluates (evaluate) and so loads */
static void val_batches(int64_t nval, int batch, int64_t *b0, int64_t *b1)
{
	int64_t nb = (nval + batch - 1) / batch;

	*b0 = nb * dist_rank() / dist_size();
	*b1 = nb * (dist_rank() + 1) / dist_size();
}

/* count_pair: the samples of two streams, which must be as many */
static int64_t count_pair(const char *a, const char *b)
{
	int64_t n = dataset_count(a), m = dataset_count(b);

	if (n != m)
		die("%" PRId64 " inputs but %" PRId64 " targets (%s, %s)", n, m, a, b);
	return n;
}

static int by_index(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* rereadable: path can be read a second time (the count, then the
 * samples): not a pipe or a device; a name that is no file (an npz
 * member, FILE.npz:NAME) is its archive, a file */
static int rereadable(const char *path)
{
	struct stat st;

	return stat(path, &st) != 0 || S_ISREG(st.st_mode);
}

/* load_share: under mpirun, the samples this rank trains and validates on
 * and no others: the training samples of its chunks' shards (epochs.h) and
 * those of its validation batches, from the count of the streams (a first
 * pass) and the split the seed makes of them, as trainer_run makes it. A
 * stream that cannot be read twice (a pipe) is loaded whole, as without
 * sharding. */
static void load_share(trainer *t, const char *inputs, const char *targets)
{
	const train_options *o = t->o;
	int64_t n, ntrain, nval, ntr, nkeep, b0, b1, v0 = 0, v1 = 0, first, last;
	int64_t *order, *keep;
	int clo, chi, whole = !rereadable(inputs) || !rereadable(targets);
	char what[96] = "";
	const char *r0 = dist_rank() == 0 ? " (rank 0)" : "";   /* progname names ranks 1 on */

	if (whole) {
		t->in = dataset_load(inputs);
		t->tg = dataset_load(targets);
		n = t->in->n;
	} else {
		n = count_pair(inputs, targets);
	}
	dist_same((long)n, "the number of training samples");
	if (n == 0)
		die("no training data (%s)", inputs);
	order = holdout_split(n, o->val_fraction, o->seed, &ntrain, &nval);
	dist_chunks(o->chunks, &clo, &chi);
	keep = shard_samples(order, ntrain, o->batch, o->chunks, clo, chi, &ntr);
	nkeep = ntr;
	first = ntr ? keep[0] : 0;
	last = ntr ? keep[ntr - 1] : 0;
	if (nval) {   /* --val-fraction: this rank's batches of the held-out tail */
		val_batches(nval, o->batch, &b0, &b1);
		v0 = b0 * o->batch < nval ? b0 * o->batch : nval;
		v1 = b1 * o->batch < nval ? b1 * o->batch : nval;
		keep = xrealloc(keep, (size_t)(nkeep + v1 - v0 + 1) * sizeof *keep);
		memcpy(keep + nkeep, order + ntrain + v0, (size_t)(v1 - v0) * sizeof *keep);
		nkeep += v1 - v0;
		qsort(keep, (size_t)nkeep, sizeof *keep, by_index);
	}
	if (!whole) {
		t->in = dataset_load_keep(inputs, keep, nkeep);
		t->tg = dataset_load_keep(targets, keep, nkeep);
	}
	if (o->val_in && rereadable(o->val_in) && rereadable(o->val_tgt)) {
		/* --val: this rank's batches, a contiguous run */
		int64_t nv = count_pair(o->val_in, o->val_tgt);
		val_batches(nv, o->batch, &b0, &b1);
		v0 = b0 * o->batch < nv ? b0 * o->batch : nv;
		v1 = b1 * o->batch < nv ? b1 * o->batch : nv;
		t->vin = dataset_load_range(o->val_in, v0, v1);
		t->vtg = dataset_load_range(o->val_tgt, v0, v1);
		snprintf(what, sizeof what, ", and %" PRId64 " of %" PRId64 " validation samples",
			 v1 - v0, nv);
	} else if (nval) {
		snprintf(what, sizeof what, ", and %" PRId64 " of %" PRId64 " validation samples",
			 v1 - v0, nval);
	}
	if (o->net.verbose && whole)
		fprintf(stderr, "%s%s: samples 0..%" PRId64 " of %" PRId64 ", all (%s cannot be read "
			"twice), for %" PRId64 " training samples: its %d of %d chunks\n", progname,
			r0, n - 1, n, rereadable(inputs) ? targets : inputs, ntr, chi - clo, o->chunks);
	else if (o->net.verbose && ntr)
		fprintf(stderr, "%s%s: samples %" PRId64 "..%" PRId64 " of %" PRId64 " (%" PRId64
			" training samples: its %d of %d chunks)%s\n", progname, r0, first, last, n,
			ntr, chi - clo, o->chunks, what);
	else if (o->net.verbose)
		fprintf(stderr, "%s%s: no training samples of %" PRId64 " (its 0 of %d chunks)%s\n",
			progname, r0, n, o->chunks, what);
	free(keep);
	free(order);
}

void trainer_data(trainer *t, const char *inputs, const char *targets)
{
	/* under mpirun every rank reads the files; standard input is rank 0's */
	if (dist_size() > 1 && (cli_is_stdin(inputs) || cli_is_stdin(targets) ||
				(t->o->val_in && (cli_is_stdin(t->o->val_in) || cli_is_stdin(t->o->val_tgt)))))
		die("under mpirun every rank reads the data: give files, not standard input");
	if (dist_size() > 1) {
		load_share(t, inputs, targets);
	} else {
		t->in = dataset_load(inputs);
		t->tg = dataset_load(targets);
	}
	check_count(t->in, t->tg);
	check_finite(t->in);
	check_finite(t->tg);
	if (t->o->val_in) {
		if (!t->vin) {
			t->vin = dataset_load(t->o->val_in);
			t->vtg = dataset_load(t->o->val_tgt);
		}
		check_count(t->vin, t->vtg);
		check_finite(t->vin);
		check_finite(t->vtg);
		if (!shape_equal(&t->vin->shape, &t->in->shape) ||
		    !shape_equal(&t->vtg->shape, &t->tg->shape))
			die("validation samples differ in shape from the training samples (%s)",
			    t->vin->name);
	}
}

/* the run's working state */
typedef struct {
	int64_t *order, *val_idx, ntrain, nval;
	const dataset *vin, *vtg;
	float *x, *best;        /* a batch of inputs; the best epoch's params, stats */
	void *y;                /* a batch of targets */
	size_t np, ns;          /* parameters, statistics */
	int saved;              /* the epoch this run last wrote to the output file */
	float *sum, *stats0;    /* a step's chunk sum (np + ns + 1); its start's stats */
	long steps;             /* steps taken; their seconds */
	double step_seconds;
	float *pred;            /* a batch of predictions, for the validation IoU */
	int64_t osize;          /* values in one prediction */
} run_state;

/* validation results: the mean loss, and for bce and ce the IoU (bce: of
 * the foreground, prediction >= 0.5 against target >= 0.5; ce: the mean
 * over the classes present in prediction or target of the argmax's IoU) */
typedef struct {
	double loss, iou;
} val_result;

#define IOU_CLASSES_MAX 256
typedef struct {
	int64_t inter[IOU_CLASSES_MAX], uni[IOU_CLASSES_MAX];
} iou_counts;

/* iou_add: a batch of B predictions p (B, osize) against the targets y as
 * the loss reads them into the counts */
static void iou_add(iou_counts *c, loss_kind loss, int classes, const float *p,
		    const void *y, int B, int64_t osize)
{
	if (loss == LOSS_BCE) {
		const float *t = y;
		for (int64_t i = 0; i < B * osize; i++) {
			int a = p[i] >= 0.5f, b = t[i] >= 0.5f;
			c->inter[1] += a && b;
			c->uni[1] += a || b;
		}
	} else if (loss == LOSS_CE && classes <= IOU_CLASSES_MAX) {
		const uint8_t *t = y;
		int64_t hw = osize / classes;
		for (int b = 0; b < B; b++)
			for (int64_t i = 0; i < hw; i++) {
				const float *q = p + (int64_t)b * osize + i;
				int k = 0, want = t[(int64_t)b * hw + i];
				for (int j = 1; j < classes; j++)
					if (q[j * hw] > q[k * hw])
						k = j;
				c->uni[k]++;
				if (k == want)
					c->inter[k]++;
				else
					c->uni[want]++;
			}
	}
}

static double iou_mean(const iou_counts *c, loss_kind loss, int classes)
{
	double sum = 0;
	int n = 0;

	if (loss == LOSS_BCE)
		return c->uni[1] ? (double)c->inter[1] / c->uni[1] : 1.0;
	for (int k = 0; k < classes && k < IOU_CLASSES_MAX; k++)
		if (c->uni[k]) {
			sum += (double)c->inter[k] / c->uni[k];
			n++;
		}
	return n ? sum / n : 1.0;
}

/* share_iou: under mpirun, every rank's counts (of its validation
 * batches) added up on every rank; integers, so in any order */
static void share_iou(iou_counts *c)
{
	int S = dist_size(), R = dist_rank(), w = 2 * IOU_CLASSES_MAX;
	double *all;

	if (S < 2)
		return;
	all = xcalloc((size_t)S * w, sizeof *all);
	for (int k = 0; k < IOU_CLASSES_MAX; k++) {
		all[(size_t)R * w + k] = (double)c->inter[k];
		all[(size_t)R * w + IOU_CLASSES_MAX + k] = (double)c->uni[k];
	}
	dist_share(all, S * w);
	memset(c, 0, sizeof *c);
	for (int q = 0; q < S; q++)
		for (int k = 0; k < IOU_CLASSES_MAX; k++) {
			c->inter[k] += (int64_t)all[(size_t)q * w + k];
			c->uni[k] += (int64_t)all[(size_t)q * w + IOU_CLASSES_MAX + k];
		}
	free(all);
}

static int has_iou(const net *n)
{
	return net_loss(n) == LOSS_BCE || (net_loss(n) == LOSS_CE && net_classes(n) > 0 &&
					    net_classes(n) <= IOU_CLASSES_MAX);
}

/* evaluate: mean loss over the validation samples, in inference mode */
int trainer_batch(const trainer *t)
{
	int64_t n = t->in->n;

	if (t->vin && t->vin->n > n)
		n = t->vin->n;
	return batch_cap(t->o->batch, n);
}

static val_result evaluate(net *n, const run_state *r, int batch)
{
	int64_t nb = (r->nval + batch - 1) / batch, b0, b1;
	double sum = 0, *part;
	iou_counts *c = r->pred ? xcalloc(1, sizeof *c) : NULL;
	val_result v = { 0, NAN };

	/* each rank its share of the batches (the samples it loaded); the sum
	 * in batch order */
	if (nb > INT_MAX)
		die("%" PRId64 " validation batches are too many", nb);
	part = xcalloc((size_t)nb, sizeof *part);
	val_batches(r->nval, batch, &b0, &b1);
	for (int64_t b = b0; b < b1; b++) {
		int64_t s = b * batch;
		int B = (int)(r->nval - s < batch ? r->nval - s : batch);
		batch_inputs(r->x, r->vin, r->val_idx + s, B);
		net_targets(n, r->y, r->vtg, r->val_idx + s, B);
		part[b] = (double)net_eval_loss(n, r->x, r->y, B) * B;
		if (c) {
			net_predict(n, r->x, B, r->pred);
			iou_add(c, net_loss(n), net_classes(n), r->pred, r->y, B, r->osize);
		}
	}
	dist_share(part, (int)nb);
	for (int64_t b = 0; b < nb; b++)
		sum += part[b];
	free(part);
	v.loss = sum / r->nval;
	if (c) {
		share_iou(c);
		v.iou = iou_mean(c, net_loss(n), net_classes(n));
	}
	free(c);
	return v;
}

/* one step's chunks: chunk k of K is samples [B k / K, B (k + 1) / K) */
typedef struct {
	const trainer *t;
	net *n;
	run_state *r;
	const int64_t *idx;
	int B, K;
} chunk_step;

/* chunk_leaf: chunk k's gradient, running statistics (from the step's
 * start) and loss, each weighted by the chunk's share of the batch */
static void chunk_leaf(void *ctx, int k, float *out)
{
	chunk_step *c = ctx;
	run_state *r = c->r;
	int lo = nn_share(c->B, k, c->K), B = nn_share(c->B, k + 1, c->K) - lo;
	const float *g = net_params(c->n)->g;
	size_t ns;
	float *st = net_stats(c->n, &ns), w, loss;

	if (B == 0) {
		memset(out, 0, (r->np + r->ns + 1) * sizeof(float));
		return;
	}
	if (ns)
		memcpy(st, r->stats0, ns * sizeof(float));
	batch_inputs(r->x, c->t->in, c->idx + lo, B);
	net_targets(c->n, r->y, c->t->tg, c->idx + lo, B);
	loss = net_grad(c->n, r->x, r->y, B);
	w = (float)B / (float)c->B;
	for (size_t i = 0; i < r->np; i++)
		out[i] = w * g[i];
	for (size_t i = 0; i < ns; i++)
		out[r->np + i] = w * st[i];
	out[r->np + ns] = w * loss;
}

/* train_step: one Adam step on samples idx[0..B-1] from the sum over
 * their chunks; returns the mean loss. With one chunk on one rank this is
 * net_train_step to the byte. */
static float train_step(trainer *t, net *n, run_state *r, const int64_t *idx, int B,
			const adam_config *opt)
{
	chunk_step c = { t, n, r, idx, B, t->o->chunks };
	nn_params *ps = net_params(n);
	size_t ns;
	float *st = net_stats(n, &ns);
	double t0 = now_seconds();

	if (ns)
		memcpy(r->stats0, st, ns * sizeof(float));
	dist_sum(c.K, r->np + ns + 1, chunk_leaf, &c, r->sum);
	memcpy(ps->g, r->sum, r->np * sizeof(float));
	if (ns)
		memcpy(st, r->sum + r->np, ns * sizeof(float));
	net_adam_step(n, opt);
	r->steps++;
	r->step_seconds += now_seconds() - t0;
	return r->sum[r->np + ns];
}

/* report_comm: -v under mpirun: the communication per step */
static void report_comm(const trainer *t, const run_state *r)
{
	if (!t->o->net.verbose || dist_size() < 2 || dist_rank() > 0 || !r->steps)
		return;
	fprintf(stderr, "%s: %d ranks x %d thread%s, %d chunks: %.1f ms per step, %.2f ms of it "
		"communicating, %.3f MB sent and received per step and rank\n", progname,
		dist_size(), nn_threads(), nn_threads() > 1 ? "s" : "", t->o->chunks,
		1e3 * r->step_seconds / r->steps,
		1e3 * dist_comm_seconds() / r->steps, dist_comm_bytes() / r->steps / 1e6);
}

/* save: the model at an epoch end: the best epoch's weights when there is
 * validation data, with the last epoch's and Adam's state for --resume. */
static void save(trainer *t, net *n, run_state *r)
{
	model *m = &t->m;

	net_to_model(n, m);
	m->height = (int)shape_h(&t->in->shape);
	m->width = (int)shape_w(&t->in->shape);
	if (r->nval && m->best_epoch > 0) {
		m->has_resume = 1;
		m->resume_params = m->params;
		m->resume_stats = m->stats;
		m->params = xmalloc_array(r->np, sizeof(float));
		m->stats = xmalloc_array(r->ns ? r->ns : 1, sizeof(float));
		memcpy(m->params, r->best, r->np * sizeof(float));
		memcpy(m->stats, r->best + r->np, r->ns * sizeof(float));
	} else {
		m->has_resume = 0;
	}
	if (dist_rank() == 0)   /* rank 0 alone writes */
		model_save(m, t->o->output);
	if (strcmp(t->o->output, "-") != 0)
		r->saved = m->epoch;
}

/* keep_best: the network's parameters and statistics into best */
static void keep_best(net *n, run_state *r)
{
	size_t ns;
	float *st = net_stats(n, &ns);

	memcpy(r->best, net_params(n)->p, r->np * sizeof(float));
	if (ns)
		memcpy(r->best + r->np, st, ns * sizeof(float));
}

/* diverged: stop the run, leaving the model of the last good epoch as it
 * is on disk; saved is the epoch this run last wrote to the output (0: none) */
static void diverged(const trainer *t, const char *what, double value, int epoch, int saved)
{
	char v[32];

	snprintf(v, sizeof v, isnan(value) ? "nan" : "%g", value);
	if (saved)
		die("epoch %d: %s is %s; stopped, %s keeps epoch %d", epoch, what, v,
		    t->o->output, saved);
	if (t->o->resume)
		die("epoch %d: %s is %s; stopped, nothing written (%s keeps epoch %d)", epoch,
		    what, v, t->o->resume, t->m.epoch);
	die("epoch %d: %s is %s; stopped, no model written", epoch, what, v);
}

static int params_finite(net *n, const run_state *r)
{
	size_t ns;
	const float *p = net_params(n)->p, *st = net_stats(n, &ns);

	for (size_t i = 0; i < r->np; i++)
		if (!isfinite(p[i]))
			return 0;
	for (size_t i = 0; i < ns; i++)
		if (!isfinite(st[i]))
			return 0;
	return 1;
}

/* ---- Ctrl-C and SIGTERM: the batch ends, a checkpoint is written ---- */

static volatile sig_atomic_t stop_signal;
static struct sigaction old_int, old_term;

static void on_stop(int sig)
{
	stop_signal = sig;
	/* a second signal ends the program at once */
	signal(sig, SIG_DFL);
}

/* catch_stop: from now on SIGINT and SIGTERM set stop_signal */
static void catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	stop_signal = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
}

static void release_stop(void)
{
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
}

/* stopped_by_signal: the run was interrupted after `done` samples of epoch
 * m->epoch + 1 (done 0: at an epoch's end, which is already saved): write
 * the checkpoint, say so in one line, exit 128 + the signal's number */
static noreturn void stopped_by_signal(trainer *t, net *n, run_state *r, int64_t done,
				       double loss_sum)
{
	model *m = &t->m;
	/* under mpirun the ranks stop together (dist_any); one may not have
	 * had the signal itself */
	int sig = stop_signal ? stop_signal : SIGTERM;

	/* a file has the last epoch's model already; standard output not */
	if (done || strcmp(t->o->output, "-") == 0) {
		m->partial = (int)done;
		m->partial_loss = loss_sum;
		save(t, n, r);
	}
	release_stop();
	if (dist_rank() > 0) {
		dist_finalize();
		exit(128 + sig);
	}
	if (strcmp(t->o->output, "-") == 0)
		fprintf(stderr, "%s: %s: stopped in epoch %d after %" PRId64 " of %" PRId64
			" samples; the checkpoint went to standard output\n", progname,
			sig == SIGINT ? "interrupted" : "terminated", m->epoch + 1, done, r->ntrain);
	else if (done)
		fprintf(stderr, "%s: %s: stopped in epoch %d after %" PRId64 " of %" PRId64
			" samples; %s is a checkpoint, go on with --resume %s\n", progname,
			sig == SIGINT ? "interrupted" : "terminated", m->epoch + 1, done, r->ntrain,
			t->o->output, t->o->output);
	else
		fprintf(stderr, "%s: %s: stopped after epoch %d; %s is a checkpoint, go on with "
			"--resume %s\n", progname, sig == SIGINT ? "interrupted" : "terminated",
			m->epoch, t->o->output, t->o->output);
	dist_finalize();
	exit(128 + sig);
}

/* epoch_line: one line per epoch on stderr; "best" marks the epoch whose
 * weights the model keeps */
static void epoch_line(const trainer *t, const val_result *v, int has_val, int best,
		       double lr, double secs, int64_t ntrain)
{
	const model *m = &t->m;
	char val[96] = "";

	if (has_val) {
		int k = snprintf(val, sizeof val, " val_loss %.6f", m->val_loss);
		if (!isnan(v->iou))
			snprintf(val + k, sizeof val - k, " val_%s %.4f",
				 m->loss == LOSS_CE ? "miou" : "iou", v->iou);
	}
	fprintf(stderr, "%s: epoch %d/%d train_loss %.6f%s lr %g %.1fs %.0f img/s%s%s\n",
		progname, m->epoch, t->o->epochs, m->train_loss, val, lr, secs, ntrain / secs,
		best ? " best" : "", m->stopped ? " (early stop)" : "");
}

/* check_resume_validation: a resumed run validates as the run began. Without
 * validation a run that had it would train on its held-out samples and keep
 * a stale best epoch; with --val-fraction a run on every sample would
 * validate on samples it trained on. A checkpoint of the first epoch does
 * not tell, and --val (other data) may watch a run that had none. */
static void check_resume_validation(const trainer *t, int64_t nval)
{
	const model *m = &t->m;
	int had_val = m->best_epoch > 0 || isfinite(m->val_loss);

	if (had_val && nval == 0)
		die("%s was trained with validation data (best val_loss at epoch %d): give its "
		    "--val-fraction or --val again", t->o->resume, m->best_epoch);
	if (!had_val && m->epoch > 0 && t->o->val_fraction > 0)
		die("%s was trained without validation data, on every sample: --val-fraction "
		    "would validate on samples it trained on (--val takes other data)", t->o->resume);
}

void trainer_run(trainer *t, net *n)
{
	train_options *o = t->o;
	model *m = &t->m;
	run_state r = { 0 };
	history hist;
	const dataset *in = t->in, *tg = t->tg;
	progress bar;
	size_t ns;
	float *st;
	/* rank 0 alone writes the model, the history and the progress */
	const int lead = dist_rank() == 0;
	const char *history_path = lead ? o->history : NULL;

	net_check_data(n, in, tg, o->resume ? o->resume : "the network");
	dist_same((long)in->n, "the number of training samples");
	/* the order of the training samples; the held-out tail validates */
	r.order = holdout_split(in->n, o->val_fraction, o->seed, &r.ntrain, &r.nval);
	if (r.nval) {
		r.val_idx = r.order + r.ntrain;
		r.vin = in;
		r.vtg = tg;
	} else if (t->vin) {
		r.nval = t->vin->n;
		r.val_idx = xmalloc_array((size_t)r.nval, sizeof *r.val_idx);
		for (int64_t i = 0; i < r.nval; i++)
			r.val_idx[i] = i;
		r.vin = t->vin;
		r.vtg = t->vtg;
	}
	if (o->resume)
		check_resume_validation(t, r.nval);

	r.np = net_params(n)->n;
	st = net_stats(n, &ns);
	r.ns = ns;
	r.best = xmalloc_array(r.np + r.ns, sizeof *r.best);
	if (o->resume) {
		/* the model's params are the best epoch's; the last epoch's follow */
		memcpy(r.best, m->params, r.np * sizeof *r.best);
		if (ns)
			memcpy(r.best + r.np, m->stats, ns * sizeof *r.best);
		if (m->has_resume) {
			memcpy(net_params(n)->p, m->resume_params, r.np * sizeof(float));
			if (ns)
				memcpy(st, m->resume_stats, ns * sizeof(float));
		}
	}
	m->loss = net_loss(n);
	m->classes = net_classes(n);
	m->epochs = o->epochs;
	m->batch = o->batch;
	m->weight_decay = o->weight_decay;
	m->seed = o->seed;
	m->cosine = o->cosine;
	m->chunks = o->chunks;
	r.sum = xmalloc_array(r.np + r.ns + 1, sizeof *r.sum);
	r.stats0 = xmalloc_array(r.ns + 1, sizeof *r.stats0);

	r.x = xmalloc_array((size_t)trainer_batch(t) * in->size, sizeof *r.x);
	r.y = xmalloc_array((size_t)trainer_batch(t) * tg->size, net_target_bytes(n));
	if (history_path)   /* a resumed run keeps the rows of the epochs its model has */
		history_begin(&hist, history_path, o->resume != NULL, m->epoch);

	if (has_iou(n)) {
		shape_t os = net_output_shape(n, &in->shape);
		r.osize = shape_size(&os);
		r.pred = xmalloc_array((size_t)trainer_batch(t) * r.osize, sizeof *r.pred);
	}
	if (m->partial >= r.ntrain)
		die("%s: the checkpoint has %d samples of epoch %d done, but there are %" PRId64
		    " training samples", o->resume, m->partial, m->epoch + 1, r.ntrain);

	/* --until ends this run early; the schedule still counts o->epochs */
	int last = o->until && o->until < o->epochs ? o->until : o->epochs;

	if (m->epoch >= last || m->stopped) {   /* nothing left to do */
		if (history_path)
			history_write(&hist);
		if (lead)
			model_save(m, o->output);
	}
	/* one bar for the whole run: its time left is the run's */
	progress_start(&bar, NULL, (int64_t)(last - m->epoch) * r.ntrain - m->partial);
	bar.on = bar.on && lead;
	catch_stop();
	for (int64_t bar_done = 0; m->epoch < last && !m->stopped;) {
		adam_config opt = adam_defaults((float)epoch_lr(m->lr, m->cosine, m->epoch, o->epochs));
		/* chunk k draws from shard k alone (epochs.h); one chunk: epoch_order */
		int64_t *perm = epoch_order_sharded(r.order, r.ntrain, o->batch, o->chunks, o->seed,
						    m->epoch);
		int64_t s0 = m->partial;   /* a checkpoint inside the epoch goes on */
		double t0 = now_seconds(), sum = m->partial_loss, secs;
		char label[32];
		val_result v = { m->val_loss, NAN };
		int best = 0;

		m->partial = 0;
		m->partial_loss = 0;
		opt.weight_decay = o->weight_decay;
		snprintf(label, sizeof label, "epoch %d/%d", m->epoch + 1, o->epochs);
		bar.label = label;
		for (int64_t s = s0; s < r.ntrain; s += o->batch) {
			int B = (int)(r.ntrain - s < o->batch ? r.ntrain - s : o->batch);
			char extra[64];
			float loss;

			if (dist_any(stop_signal != 0)) {
				progress_end(&bar);
				stopped_by_signal(t, n, &r, s, sum);
			}
			loss = train_step(t, n, &r, perm + s, B, &opt);
			if (!isfinite(loss)) {
				progress_end(&bar);
				diverged(t, "the training loss", loss, m->epoch + 1, r.saved);
			}
			sum += (double)loss * B;
			bar_done += B;
			snprintf(extra, sizeof extra, "loss %.4f %.0f img/s", sum / (s + B),
				 (s + B - s0) / (now_seconds() - t0));
			progress_update(&bar, bar_done, extra);
		}
		progress_end(&bar);
		free(perm);
		if (!params_finite(n, &r))
			diverged(t, "a parameter", NAN, m->epoch + 1, r.saved);
		secs = now_seconds() - t0;
		if (r.nval) {
			v = evaluate(n, &r, o->batch);
			if (!isfinite(v.loss))
				diverged(t, "the validation loss", v.loss, m->epoch + 1, r.saved);
		}
		/* the epoch is good: it becomes the model's */
		m->epoch++;
		m->train_loss = (float)(sum / r.ntrain);
		if (r.nval) {
			m->val_loss = (float)v.loss;
			if (m->val_loss < m->best_val) {
				m->best_val = m->val_loss;
				m->best_epoch = m->epoch;
				m->since_best = m->since_cut = 0;
				keep_best(n, &r);
				best = 1;
			} else {
				m->since_best++;
				m->since_cut++;
			}
			if (o->plateau && m->since_cut >= o->plateau) {
				m->lr *= 0.5f;
				m->since_cut = 0;
			}
			if (o->patience && m->since_best >= o->patience)
				m->stopped = 1;
		}
		if (lead)
			epoch_line(t, &v, r.nval > 0, best, opt.lr, secs, r.ntrain - s0);
		/* the history first: after a crash between the two writes, --resume
		 * drops its row of the epoch the model does not have */
		if (history_path) {
			history_add(&hist, m->epoch, m->train_loss, m->val_loss, opt.lr, secs,
				    (r.ntrain - s0) / secs);
			history_write(&hist);
		}
		/* a file takes every epoch's model; standard output only the last */
		if (strcmp(o->output, "-") != 0 || m->epoch >= last || m->stopped)
			save(t, n, &r);
		if (dist_any(stop_signal != 0) && m->epoch < last && !m->stopped)
			stopped_by_signal(t, n, &r, 0, 0);
	}
	release_stop();
	if (history_path)
		history_end(&hist);
	report_comm(t, &r);
	free(r.sum);
	free(r.stats0);
	free(r.x);
	free(r.y);
	free(r.best);
	free(r.pred);
	free(r.order);
	if (t->vin)
		free(r.val_idx);
}

void trainer_end(trainer *t)
{
	dist_finalize();
	model_free(&t->m);
	dataset_free(t->in);
	dataset_free(t->tg);
	if (t->vin) {
		dataset_free(t->vin);
		dataset_free(t->vtg);
	}
}
