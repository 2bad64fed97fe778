/* train-unet: trains a U-Net on (input stream, target stream), writes a model. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor.h"
#include "nn.h"
#include "unet.h"
#include "model.h"
#include "batch.h"


static const char usage[] =
"Usage: train-unet [options] -o MODEL INPUTS TARGETS\n"
"Trains a U-Net that maps the INPUTS stream to the TARGETS stream and writes\n"
"MODEL, atomically, at every epoch end.\n"
"\n"
"  -o, --output MODEL      the model file to write (required)\n"
"      --loss bce|mse|ce   loss: binary cross-entropy on masks (default),\n"
"                          mean squared error, softmax cross-entropy on class maps\n"
"      --classes N         classes for ce (class maps hold 0..N-1)\n"
"      --depth D           poolings (default 2)\n"
"      --filters F         filters at the first level, doubling per level (16)\n"
"      --activation A      relu (default), leaky_relu, tanh, sigmoid\n"
"  -e, --epochs N          epochs (default 3)\n"
"  -b, --batch N           batch size (default 64)\n"
"      --lr X              Adam learning rate (default 0.001)\n"
"      --weight-decay X    decoupled weight decay (default 0)\n"
"      --val-fraction F    hold out this fraction of the data for validation\n"
"      --val INPUTS TARGETS  validate on these streams instead\n"
"      --patience N        stop when validation loss has not improved for N\n"
"                          epochs; the model keeps the best epoch's weights\n"
"      --cosine            the learning rate follows a cosine, per epoch, from\n"
"                          --lr at the first epoch down towards 0 at the last\n"
"      --plateau N         halve the learning rate when validation loss has\n"
"                          not improved for N epochs\n"
"      --history FILE      TSV per epoch: epoch, train_loss, val_loss, lr,\n"
"                          seconds, images_per_s\n"
"      --resume MODEL      continue an interrupted run from its last model\n"
"  -s, --seed N            random seed (default 1)\n"
"  -j, --threads N         threads (default: all cores)\n"
"  -h, --help              show this help and exit\n"
"      --version           show the version and exit\n";

/* what the command line sets; the run's progress lives in the model */
typedef struct {
	loss_kind loss;
	int epochs, batch, patience, plateau, cosine;
	float lr, weight_decay;
	double val_fraction;
	uint64_t seed;
} train_settings;

struct options {
	const char *output, *history, *resume;
	const char *files[2];
	const char *val_in, *val_tgt;
	unet_config net;
	train_settings ts;
	int classes;
	int threads;
	int epochs_given;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { O_LOSS = 256, O_CLASSES, O_DEPTH, O_FILTERS, O_ACT, O_LR, O_WD,
	       O_VALF, O_VAL, O_PAT, O_PLAT, O_HIST, O_RESUME, O_COS };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "loss", required_argument, NULL, O_LOSS },
		{ "classes", required_argument, NULL, O_CLASSES },
		{ "depth", required_argument, NULL, O_DEPTH },
		{ "filters", required_argument, NULL, O_FILTERS },
		{ "activation", required_argument, NULL, O_ACT },
		{ "epochs", required_argument, NULL, 'e' },
		{ "batch", required_argument, NULL, 'b' },
		{ "lr", required_argument, NULL, O_LR },
		{ "weight-decay", required_argument, NULL, O_WD },
		{ "val-fraction", required_argument, NULL, O_VALF },
		{ "val", required_argument, NULL, O_VAL },
		{ "patience", required_argument, NULL, O_PAT },
		{ "plateau", required_argument, NULL, O_PLAT },
		{ "cosine", no_argument, NULL, O_COS },
		{ "history", required_argument, NULL, O_HIST },
		{ "resume", required_argument, NULL, O_RESUME },
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c, loss;

	while ((c = getopt_long(argc, argv, ":o:e:b:s:j:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case O_LOSS:
			if ((loss = loss_parse(optarg)) < 0)
				usage_die("--loss: '%s' is not bce, mse or ce", optarg);
			o->ts.loss = loss;
			break;
		case O_CLASSES: o->classes = (int)cli_long("--classes", optarg, 2, 255); break;
		case O_DEPTH: o->net.depth = (int)cli_long("--depth", optarg, 1, 6); break;
		case O_FILTERS: o->net.filters = (int)cli_long("--filters", optarg, 1, 1024); break;
		case O_ACT:
			if ((loss = act_parse(optarg)) < 0)
				usage_die("--activation: '%s' is not relu, leaky_relu, tanh or sigmoid", optarg);
			o->net.act = loss;
			break;
		case 'e':
			o->ts.epochs = (int)cli_long("--epochs", optarg, 1, 100000);
			o->epochs_given = 1;
			break;
		case 'b': o->ts.batch = (int)cli_long("--batch", optarg, 1, 65536); break;
		case O_LR: o->ts.lr = (float)cli_double("--lr", optarg, 1e-12, 10); break;
		case O_WD: o->ts.weight_decay = (float)cli_double("--weight-decay", optarg, 0, 10); break;
		case O_VALF: o->ts.val_fraction = cli_double("--val-fraction", optarg, 0, 0.9); break;
		case O_VAL:
			/* --val INPUTS TARGETS: the option takes the next word too */
			if (optind >= argc)
				usage_die("--val needs INPUTS and TARGETS");
			o->val_in = optarg;
			o->val_tgt = argv[optind++];
			break;
		case O_PAT: o->ts.patience = (int)cli_long("--patience", optarg, 1, 100000); break;
		case O_COS: o->ts.cosine = 1; break;
		case O_PLAT: o->ts.plateau = (int)cli_long("--plateau", optarg, 1, 100000); break;
		case O_HIST: o->history = optarg; break;
		case O_RESUME: o->resume = optarg; break;
		case 's': o->ts.seed = cli_seed("--seed", optarg); break;
		case 'j': o->threads = cli_threads("--threads", optarg); break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 2, 2, o->files);
	if (!o->output)
		usage_die("the model file (-o MODEL) is required");
	if (o->ts.loss == LOSS_CE && o->classes == 0)
		usage_die("--loss ce needs --classes N");
	if (o->ts.loss != LOSS_CE && o->classes)
		usage_die("--classes goes with --loss ce");
	if ((o->ts.patience || o->ts.plateau) && !o->val_in && o->ts.val_fraction == 0)
		usage_die("--patience and --plateau need validation data (--val or --val-fraction)");
	if (o->val_in && o->ts.val_fraction > 0)
		usage_die("--val and --val-fraction exclude each other");
}

/* check_pair: inputs and targets agree in count and image size. */
static void check_pair(const dataset *in, const dataset *tg, loss_kind loss)
{
	if (in->n != tg->n)
		die("%" PRId64 " inputs but %" PRId64 " targets (%s, %s)", in->n, tg->n,
		    in->name, tg->name);
	if (in->n == 0)
		die("no training data (%s)", in->name);
	if (in->shape.ndim < 2 || tg->shape.ndim < 2 ||
	    shape_h(&in->shape) != shape_h(&tg->shape) || shape_w(&in->shape) != shape_w(&tg->shape))
		die("inputs %s and targets %s differ in image size (%s)", shape_str(&in->shape),
		    shape_str(&tg->shape), tg->name);
	if (loss == LOSS_CE && shape_c(&tg->shape) != 1)
		die("class maps must have one channel, not %" PRId64 " (%s)", shape_c(&tg->shape), tg->name);
}

/* evaluate: mean loss over samples idx[0..n-1] with the running statistics. */
static double evaluate(unet *u, const dataset *in, const dataset *tg, const int64_t *idx,
		       int64_t n, const struct options *o, float *x, void *y)
{
	double sum = 0;

	for (int64_t s = 0; s < n; s += o->ts.batch) {
		int B = (int)(n - s < o->ts.batch ? n - s : o->ts.batch);
		batch_inputs(x, in, idx + s, B);
		batch_targets(y, tg, idx + s, B, o->ts.loss, o->classes);
		unet_forward(u, x, B, 0, NULL);
		sum += (double)unet_loss(u, y, B, o->ts.loss) * B;
	}
	return sum / n;
}

/* save: the model at an epoch end: the best epoch's weights when there is
 * validation data, with the last epoch's and Adam's state for --resume. */
static void save(model *m, const unet *u, const float *best, int have_val, const char *path)
{
	model_from_unet(m, u, 1);
	if (have_val && m->best_epoch > 0) {
		m->has_resume = 1;
		m->resume_params = m->params;
		m->resume_stats = m->stats;
		m->params = xmalloc_array(m->nparams, sizeof(float));
		m->stats = xmalloc_array(m->nstats ? m->nstats : 1, sizeof(float));
		memcpy(m->params, best, m->nparams * sizeof(float));
		memcpy(m->stats, best + m->nparams, m->nstats * sizeof(float));
	} else {
		m->has_resume = 0;
	}
	model_save(m, path);
}

int main(int argc, char **argv)
{
	struct options o = { .net = unet_defaults(), .ts = { .loss = LOSS_BCE, .epochs = 3,
		.batch = 64, .lr = 1e-3f, .seed = 1 } };
	dataset *in, *tg, *vin = NULL, *vtg = NULL;
	int64_t *order, *val_idx = NULL, ntrain, nval = 0;
	float *x, *best;
	void *y;
	unet *u;
	model m;
	FILE *hist = NULL;
	progress bar;
	int H, W;

	cli_init(argc, argv, "train-unet");
	cli_passive_wait(argv);
	parse_args(argc, argv, &o);
	nn_set_threads(o.threads ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));

	in = dataset_load(o.files[0]);
	tg = dataset_load(o.files[1]);
	H = (int)shape_h(&in->shape);
	W = (int)shape_w(&in->shape);
	model_init(&m, "unet");
	if (o.resume) {
		/* the run goes on with the settings it started with */
		model_read(&m, o.resume);
		o.ts.loss = m.loss;
		o.classes = m.classes;
		o.ts.batch = m.batch;
		o.ts.weight_decay = m.weight_decay;
		o.ts.seed = m.seed;
		o.ts.cosine = m.cosine;
		if (!o.epochs_given)
			o.ts.epochs = m.epochs;
	}
	check_pair(in, tg, o.ts.loss);
	if (o.val_in) {
		vin = dataset_load(o.val_in);
		vtg = dataset_load(o.val_tgt);
		check_pair(vin, vtg, o.ts.loss);
		if (!shape_equal(&vin->shape, &in->shape) || !shape_equal(&vtg->shape, &tg->shape))
			die("validation samples differ in shape from the training samples (%s)", vin->name);
	}

	/* the order of the training samples; the held-out tail validates */
	order = holdout_split(in->n, o.ts.val_fraction, o.ts.seed, &ntrain, &nval);
	if (nval) {
		val_idx = order + ntrain;
		vin = in;
		vtg = tg;
	} else if (vin) {
		nval = vin->n;
		val_idx = xmalloc_array((size_t)nval, sizeof *val_idx);
		for (int64_t i = 0; i < nval; i++)
			val_idx[i] = i;
	}

	if (o.resume) {
		u = unet_from_model(&m, o.ts.batch, H, W);
		if (u->cfg.in_channels != shape_c(&in->shape) ||
		    (o.ts.loss != LOSS_CE && u->cfg.out_channels != shape_c(&tg->shape)))
			die("the channels of %s do not match these streams (%s)", o.resume, in->name);
		best = xmalloc_array(u->params.n + u->nstats, sizeof *best);
		memcpy(best, m.params, u->params.n * sizeof *best);
		memcpy(best + u->params.n, m.stats, u->nstats * sizeof *best);
		if (m.has_resume) {
			memcpy(u->params.p, m.resume_params, u->params.n * sizeof(float));
			memcpy(u->stats, m.resume_stats, u->nstats * sizeof(float));
		}
	} else {
		o.net.in_channels = (int)shape_c(&in->shape);
		o.net.out_channels = o.ts.loss == LOSS_CE ? o.classes : (int)shape_c(&tg->shape);
		u = unet_create(&o.net, o.ts.batch, H, W);
		unet_init_params(u, o.ts.seed);
		best = xmalloc_array(u->params.n + u->nstats, sizeof *best);
		m.lr = o.ts.lr;
	}
	m.loss = o.ts.loss;
	m.classes = o.classes;
	m.epochs = o.ts.epochs;
	m.batch = o.ts.batch;
	m.weight_decay = o.ts.weight_decay;
	m.seed = o.ts.seed;
	m.cosine = o.ts.cosine;

	x = xmalloc_array((size_t)o.ts.batch * in->size, sizeof *x);
	y = xmalloc_array((size_t)o.ts.batch * tg->size, o.ts.loss == LOSS_CE ? 1 : sizeof(float));
	if (o.history)   /* a resumed run goes on with its history */
		hist = history_open(o.history, o.resume != NULL);

	if (m.epoch >= o.ts.epochs || m.stopped)   /* nothing left to do */
		model_save(&m, o.output);
	while (m.epoch < o.ts.epochs && !m.stopped) {
		adam_config opt = adam_defaults((float)epoch_lr(m.lr, m.cosine, m.epoch, o.ts.epochs));
		int64_t *perm = epoch_order(order, ntrain, o.ts.seed, m.epoch);
		double t0 = now_seconds(), sum = 0, secs;
		char label[32];

		opt.weight_decay = o.ts.weight_decay;
		snprintf(label, sizeof label, "epoch %d/%d", m.epoch + 1, o.ts.epochs);
		progress_start(&bar, label, ntrain);
		for (int64_t s = 0; s < ntrain; s += o.ts.batch) {
			int B = (int)(ntrain - s < o.ts.batch ? ntrain - s : o.ts.batch);
			char extra[64];

			batch_inputs(x, in, perm + s, B);
			batch_targets(y, tg, perm + s, B, o.ts.loss, o.classes);
			sum += (double)unet_train_step(u, x, y, B, o.ts.loss, &opt) * B;
			snprintf(extra, sizeof extra, "loss %.4f %.0f img/s", sum / (s + B),
				 (s + B) / (now_seconds() - t0));
			progress_update(&bar, s + B, extra);
		}
		progress_end(&bar);
		free(perm);
		secs = now_seconds() - t0;
		m.epoch++;
		m.train_loss = (float)(sum / ntrain);

		if (nval) {
			m.val_loss = (float)evaluate(u, vin, vtg, val_idx, nval, &o, x, y);
			if (m.val_loss < m.best_val) {
				m.best_val = m.val_loss;
				m.best_epoch = m.epoch;
				m.since_best = m.since_cut = 0;
				memcpy(best, u->params.p, u->params.n * sizeof *best);
				memcpy(best + u->params.n, u->stats, u->nstats * sizeof *best);
			} else {
				m.since_best++;
				m.since_cut++;
			}
			if (o.ts.plateau && m.since_cut >= o.ts.plateau) {
				m.lr *= 0.5f;
				m.since_cut = 0;
			}
			if (o.ts.patience && m.since_best >= o.ts.patience)
				m.stopped = 1;
		}
		fprintf(stderr, "train-unet: epoch %d/%d train_loss %.6f val_loss %.6f lr %g %.1fs %.0f img/s%s\n",
			m.epoch, o.ts.epochs, m.train_loss, m.val_loss, opt.lr, secs, ntrain / secs,
			m.stopped ? " (early stop)" : "");
		if (hist)
			history_line(hist, o.history, m.epoch, m.train_loss, m.val_loss, opt.lr,
				     secs, ntrain / secs);
		/* a file takes every epoch's model; standard output only the last */
		if (strcmp(o.output, "-") != 0 || m.epoch >= o.ts.epochs || m.stopped)
			save(&m, u, best, nval > 0, o.output);
	}
	if (hist)
		history_close(hist, o.history);
	model_free(&m);
	free(x);
	free(y);
	free(best);
	free(order);
	unet_free(u);
	if (o.val_in) {
		free(val_idx);
		dataset_free(vin);
		dataset_free(vtg);
	}
	dataset_free(in);
	dataset_free(tg);
	return 0;
}
