/* trainer.h: the one trainer every train-* tool runs: options, the data,
 * the epochs (seeded order, validation split or set, patience, plateau,
 * cosine), a checkpoint per epoch, --resume, --history, progress, and the
 * checks that a training never ends in a model of NaN.
 *
 * A tool's main: trainer_init (settings, a resumed model), trainer_data
 * (the streams), its own checks and network (net.h: new, or
 * net_from_model(&t.m, ...) when resuming), trainer_run, trainer_end.
 *
 * Model and history after a crash: at every epoch end the history is
 * rewritten (atomically) before the model is; a run resumed from the model
 * keeps the history's rows up to the model's epoch, so the two agree. */
#ifndef SEGPIPE_TRAINER_H
#define SEGPIPE_TRAINER_H

#include <getopt.h>
#include <stdint.h>

#include "epochs.h"
#include "kern.h"
#include "model.h"
#include "net.h"
#include "stream.h"
#include "terminal.h"

/* the precision of a new training run without --precision: the fastest
 * that keeps quality on this CPU's kernel path (kern_default_precision) */
#define TRAIN_PRECISION_DEFAULT kern_default_precision()

/* what the command line sets; the run's progress lives in the model */
typedef struct {
	const char *output, *history, *resume;
	const char *val_in, *val_tgt;   /* --val INPUTS TARGETS */
	int epochs, epochs_given;
	int until;                      /* --until: the last epoch of this run; 0: --epochs */
	int batch, patience, plateau, cosine, threads;
	int chunks;                     /* --chunks; 0: the rank count (dist.h) */
	float lr, weight_decay;
	double val_fraction;
	uint64_t seed;
	net_options net;                /* --precision, -v */
	const char *model_kept;         /* the last option given that --resume
					   takes from the model instead */
} train_options;

/* the options every trainer takes, for its getopt_long tables */
enum {
	TRAIN_OPT_LR = 0x5400, TRAIN_OPT_WD, TRAIN_OPT_VALF, TRAIN_OPT_VAL, TRAIN_OPT_PAT,
	TRAIN_OPT_PLAT, TRAIN_OPT_COS, TRAIN_OPT_HIST, TRAIN_OPT_RESUME,
	TRAIN_OPT_CHUNKS = 0x5480, TRAIN_OPT_UNTIL
};
#define TRAIN_SHORTOPTS "o:e:b:s:j:v"
#define TRAIN_LONGOPTS \
	{ "output", required_argument, NULL, 'o' }, \
	{ "epochs", required_argument, NULL, 'e' }, \
	{ "batch", required_argument, NULL, 'b' }, \
	{ "lr", required_argument, NULL, TRAIN_OPT_LR }, \
	{ "weight-decay", required_argument, NULL, TRAIN_OPT_WD }, \
	{ "val-fraction", required_argument, NULL, TRAIN_OPT_VALF }, \
	{ "val", required_argument, NULL, TRAIN_OPT_VAL }, \
	{ "patience", required_argument, NULL, TRAIN_OPT_PAT }, \
	{ "plateau", required_argument, NULL, TRAIN_OPT_PLAT }, \
	{ "cosine", no_argument, NULL, TRAIN_OPT_COS }, \
	{ "history", required_argument, NULL, TRAIN_OPT_HIST }, \
	{ "resume", required_argument, NULL, TRAIN_OPT_RESUME }, \
	{ "seed", required_argument, NULL, 's' }, \
	{ "threads", required_argument, NULL, 'j' }, \
	{ "chunks", required_argument, NULL, TRAIN_OPT_CHUNKS }, \
	CLI_FORCE_LONGOPT, \
	{ "until", required_argument, NULL, TRAIN_OPT_UNTIL }, \
	NET_LONGOPTS

/* the usage lines of those options, for each tool's --help */
#define TRAIN_USAGE \
"  -o, --output MODEL      the model file to write (required; - for standard\n" \
"                          output, written once at the end); checked before\n" \
"                          training. Ctrl-C or SIGTERM finishes the batch,\n" \
"                          writes a checkpoint for --resume and exits 130/143\n" \
"      --force             write the model (-o -) even to a terminal (with\n" \
"                          a model file it does nothing: an error)\n" \
"  -e, --epochs N          epochs\n" \
"      --until N           end this run after epoch N of the --epochs (the\n" \
"                          schedule counts them all); --resume goes on;\n" \
"                          past the --epochs it does nothing: an error\n" \
"  -b, --batch N           batch size\n" \
"      --lr X              Adam learning rate (default 0.001)\n" \
"      --weight-decay X    decoupled weight decay (default 0)\n" \
"      --val-fraction F    hold out this fraction of the data for validation\n" \
"      --val INPUTS TARGETS  validate on these streams instead\n" \
"      --patience N        stop when validation loss has not improved for N\n" \
"                          epochs; the model keeps the best epoch's weights\n" \
"      --cosine            the learning rate follows a cosine, per epoch, from\n" \
"                          --lr at the first epoch down towards 0 at the last\n" \
"      --plateau N         halve the learning rate when validation loss has\n" \
"                          not improved for N epochs\n" \
"      --history FILE      TSV per epoch: epoch, train_loss, val_loss, lr,\n" \
"                          seconds, images_per_s\n" \
"      --resume MODEL      continue an interrupted run from its last model;\n" \
"                          give the data and validation options again\n" \
"      --precision P       bf16 or fp32: the precision of the products (default\n" \
"                          bf16 where the CPU multiplies bf16 natively, else\n" \
"                          fp32); kept in the model, a resumed run keeps it\n" \
"  -s, --seed N            random seed (default 1)\n" \
"  -j, --threads N         threads (default: all cores; under mpirun, the\n" \
"                          cores shared by the ranks on the host)\n" \
"      --chunks K          each batch in K fixed chunks, summed in a fixed\n" \
"                          order; the same bytes on any number of MPI ranks\n" \
"                          (default: the rank count, 1 without mpirun);\n" \
"                          each chunk draws from its own shard of the\n" \
"                          samples, which is all an MPI rank loads\n" \
"  -v, --verbose           say which kernel and precision compute\n"

/* train_defaults: lr 0.001, seed 1, the given epochs and batch, the rest 0. */
train_options train_defaults(int epochs, int batch);
/* trainer_option: handle option c (with its value arg) if it is one of
 * TRAIN_LONGOPTS and return 1; 0 otherwise. --val takes argv[optind] too. */
int trainer_option(train_options *o, int c, const char *arg, int argc, char **argv);
/* the architecture options of a train-* tool (--filters, --activation,
 * ...): the value parsed (a usage error when bad), and the option noted as
 * one a resumed run takes from its model, so that --resume refuses it */
int trainer_arch_int(train_options *o, const char *name, const char *arg, long lo, long hi);
double trainer_arch_double(train_options *o, const char *name, const char *arg, double lo,
			   double hi);
int trainer_arch_act(train_options *o, const char *arg);
/* trainer_check_options: the usage errors between those options. */
void trainer_check_options(const train_options *o);

typedef struct {
	train_options *o;
	model m;                /* the settings, the progress, the file written */
	dataset *in, *tg;       /* training inputs and targets */
	dataset *vin, *vtg;     /* --val streams, or NULL */
} trainer;

/* trainer_init: threads; with --resume the model read into t->m and its
 * settings (batch, weight decay, seed, schedule, epochs unless -e was
 * given, precision) put into o; the precision set before any compute. A
 * model of another kind, or whose learning rate is not a positive finite
 * number, is an error naming the file. */
void trainer_init(trainer *t, train_options *o, const char *kind);
/* trainer_data: the training streams (and --val's): as many targets as
 * inputs, at least one sample, every value finite (an error names the
 * stream and the sample), validation samples shaped as the training ones. */
void trainer_data(trainer *t, const char *inputs, const char *targets);
/* trainer_batch: the batch a network and its buffers need: --batch, but
 * no more than the samples there are (training or validation) */
int trainer_batch(const trainer *t);
/* trainer_run: train n (for a resumed run, built from t->m) to the end:
 * every epoch a model (a file by name; standard output only at the end) and
 * the history. A non-finite loss, validation loss or parameter stops the
 * run with one line on stderr and exit 1; the last model written (the last
 * good epoch) is left as it was. */
void trainer_run(trainer *t, net *n);
void trainer_end(trainer *t);   /* frees the data and the model */

#endif
