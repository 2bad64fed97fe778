/* model.h: the model file, one self-describing file per trained model
 * (format: man 5 segpipe-model).
 *
 *   segpipe-model 1\n                 magic and format version
 *   key value\n ...                    text header, fixed key order on write
 *   \n                                 end of header
 *   float32 LE params[nparams]         in the network's documented order
 *   float32 LE stats[nstats]           batch-norm running statistics
 *   float32 LE adam_m[nparams], adam_v[nparams]   only when "adam 1"
 *   float32 LE params[nparams], stats[nstats]     only when "resume 1": the
 *                                      last epoch's, when params hold the best
 *   uint32 LE crc32 of every byte before it (zlib's crc32)
 */
#ifndef SEGPIPE_MODEL_H
#define SEGPIPE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "kern.h"
#include "nn.h"
#include "unet.h"

#define MODEL_MAGIC "segpipe-model"
#define MODEL_VERSION 1
#define MODEL_LIST_MAX 256   /* longest "layers" / "activations" value */

typedef struct {
	const char *path;       /* the file it was read from, for messages (the
	                         * caller's string); NULL for a model not read */
	char kind[8];           /* "unet", "mlp", "cnn" or "fcn8" */
	/* architecture */
	int in_channels, out_channels;
	int depth, filters;     /* unet; cnn: depth is the stages; fcn8: filters */
	act_kind act;           /* unet, cnn, fcn8: the activation */
	int convs;              /* cnn: convolutions per stage */
	float dropout;          /* cnn: before the head */
	int freeze;             /* cnn: only the head trains */
	char layers[MODEL_LIST_MAX];      /* mlp: sizes, "784,256,2,256,784" */
	char activations[MODEL_LIST_MAX]; /* mlp: one per layer, "relu,relu,..." */
	int height, width;      /* image size trained on */
	loss_kind loss;
	int classes;            /* ce: number of classes (= out_channels); else 0 */
	/* training settings and progress */
	int epochs, batch, epoch;        /* epoch = epochs completed */
	float lr, weight_decay;  /* lr: the base rate (before the schedule) */
	int cosine;             /* the lr schedule: 1 cosine, 0 constant */
	kern_precision precision;   /* the products' precision it was trained with
				     * (optional key "precision", absent: fp32) */
	uint64_t seed;
	float train_loss;       /* last epoch's mean training loss */
	/* tensors */
	size_t nparams, nstats;
	float *params, *stats;
	int has_adam;           /* checkpoint: Adam state follows */
	int64_t adam_step;
	float *adam_m, *adam_v;
	/* the trainer's progress with validation data (--patience, --plateau):
	 * params/stats then hold the best epoch's weights, and with has_resume
	 * the last epoch's follow the Adam state, so --resume goes on exactly */
	float val_loss, best_val;          /* nan / inf without validation */
	int best_epoch, since_best, since_cut, stopped;
	int has_resume;
	float *resume_params, *resume_stats;
	/* the chunks each batch is summed over (optional key "chunks",
	 * absent: 1; man 7 segpipe-mpi) */
	int chunks;
	/* a run interrupted inside an epoch (optional keys "partial",
	 * "partial_loss"): samples of epoch + 1 already trained, in its order,
	 * and the sum of their losses; --resume goes on from the next one */
	int partial;
	double partial_loss;
} model;

/* model_init: zeroed fields with kind set; the tensors are not allocated. */
void model_init(model *m, const char *kind);
void model_free(model *m);      /* frees the tensors */

/* model_save: write atomically to path (temporary file + fsync + rename);
 * "-" writes stdout. Dies on error. */
void model_save(const model *m, const char *path);

/* model_load: read and check a model file. Returns 0, or -1 with a one-line
 * message "PATH: what is wrong" in err (errlen bytes). Refuses a bad magic,
 * a newer or unknown version, a truncated file, a checksum mismatch, unknown
 * or repeated keys and bad values; never allocates more than the file size. */
int model_load(model *m, const char *path, char *err, size_t errlen);
/* model_read: model_load, dying with the message on error. */
void model_read(model *m, const char *path);

/* From and to the U-Net. model_from_unet copies the parameters, statistics
 * and (with_adam) the Adam state; the training fields are the caller's.
 * unet_from_model builds a network for batches of max_batch images of
 * H x W (0, 0: the size in the model) and loads the tensors; dies, naming
 * the file, if the model is not a unet or its sizes do not match (checked
 * before anything is allocated). */
void model_from_unet(model *m, const unet *u, int with_adam);
unet *unet_from_model(const model *m, int max_batch, int H, int W);

/* model_put_state: a network's parameters p (n), statistics (ns) and, with
 * with_adam, Adam's moments and step into m (which holds none yet);
 * model_get_state: the reverse, from a model whose sizes were checked
 * against the network's (Adam only when the model has it). One copy for
 * every kind. */
struct nn_params;
void model_put_state(model *m, const struct nn_params *p, const float *stats, size_t ns,
		     int with_adam);
void model_get_state(const model *m, struct nn_params *p, float *stats);

/* model_check_sizes: the parameters (n) and statistics (ns) a kind's header
 * implies are those the model holds; dies naming path otherwise. Called
 * before the network is allocated (nparams and nstats were checked against
 * the file's size). */
void model_check_sizes(const model *m, const char *path, size_t n, size_t ns);

#endif
