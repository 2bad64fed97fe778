/* stream.h: tensor streams (.npy arrays back to back), PGM/PAM streams and
 * IDX files, each plain or gzip-compressed, detected by content.
 * See segpipe-stream(5). */
#ifndef SEGPIPE_STREAM_H
#define SEGPIPE_STREAM_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
	DT_U8, DT_I8, DT_U16, DT_I16, DT_U32, DT_I32, DT_U64, DT_I64,
	DT_F32, DT_F64, DT_BOOL
} dtype_t;

/* The shape of one sample: (C,H,W), (H,W), (N) or () ; ndim 0..3. */
typedef struct {
	int ndim;
	int64_t dim[3];
} shape_t;

/* sample_max: elements in one sample, at most, read or written: 2^22
 * (a 2048x2048 image; an MNIST digit is 784), or SEGPIPE_SAMPLE_MAX from
 * the environment (1 to 2^31). Every tool's memory is a few times this. */
#define SAMPLE_MAX_DEFAULT ((int64_t)1 << 22)
int64_t sample_max(void);
#define SAMPLE_MAX sample_max()

int64_t shape_size(const shape_t *s);        /* elements per sample */
int64_t shape_c(const shape_t *s);           /* channels: dim[0] of (C,H,W), else 1 */
int64_t shape_h(const shape_t *s);
int64_t shape_w(const shape_t *s);
int shape_equal(const shape_t *a, const shape_t *b);
/* shape_chw: (C,H,W) as a shape; C == 1 gives the (H,W) form. */
shape_t shape_chw(int64_t c, int64_t h, int64_t w);
/* shape_like: (C,H,W) in the form of the sample shape like, as writers
 * keep the shape they were given: one channel is (1,H,W) when like is
 * (1,H,W), the (H,W) form otherwise (a 2-channel input's 1-channel
 * output, say). */
shape_t shape_like(const shape_t *like, int64_t c, int64_t h, int64_t w);
/* shape_require_images: die unless samples of shape s (of the input name)
 * are images, (H,W) or (C,H,W); a 1-D shape gets the hint of numpy's slip,
 * one (H,W) image saved as it is (H samples of W values). Every tool that
 * needs images checks them here (input_require_images for a stream). */
void shape_require_images(const shape_t *s, const char *name);
/* shape_str: "28x28", "2x32x32", "10", "scalar" (static buffer per call slot) */
const char *shape_str(const shape_t *s);

/* How a tool reads the values. */
enum role {
	ROLE_INTENSITY,  /* uint8 /255, PGM value/maxval, anything else as it is */
	ROLE_RAW,        /* the stored value, never scaled (PGM: whatever the maxval) */
	ROLE_MASK,       /* a mask or probability target: uint8 (PGM maxval 255)
			    nonzero is 1, anything else an intensity that must
			    lie in [0,1]; a value outside dies naming it */
	ROLE_KEEP,       /* raw uint8 of a uint8 stream, to be written as uint8;
			    a later record that is not uint8 is an error */
	ROLE_IMAGE,      /* intensities an image measure compares (mse): a
			    uint8 sample of only 0 and 1 values is a mask,
			    not an image (it would read as 0 and 1/255): dies */
	ROLE_UNIT,       /* intensities that must lie in [0,1] (otsu quantises
			    them to 8 bits): a float outside, a 0..255 image
			    left as floats say, dies */
	ROLE_BINARY,     /* a 0/1 mask (a truth): every value 0, 1 or, for
			    uint8 and netpbm, the maxval; read as 0/1 */
	ROLE_PRED        /* a prediction: a probability in [0,1] (floats), or
			    a 0/1 mask as ROLE_BINARY takes it (integer
			    dtypes, netpbm); the stored value */
};
/* Every role check dies with one line: "WHAT value V at element K is not
 * ... (HINT) (input, sample N)"; WHAT and HINT are the role's own unless
 * input_label gave the operand's name and the tool's hint. */

typedef struct input input;

/* input_open: NULL or "-" is stdin. A zip archive (an .npz) is read as
 * its first member, and "FILE.npz:NAME", when no file has that name, as
 * its member NAME (or NAME.npy) (zip.h). Reads the first header and the
 * first sample, so a header alone never makes anyone allocate. Dies on
 * error. */
input *input_open(const char *path);
/* input_read: the next sample into out (shape_size elements); 1, or 0 at
 * the end of the stream. Dies on malformed input, naming file and sample. */
int input_read(input *in, float *out, enum role role);
/* input_read_ints: the next sample as the integers it stores (class maps,
 * labels): the stored values, never scaled (PGM: whatever the maxval),
 * each an integer in 0..max (a float exactly integral; NaN never). Any
 * other value dies: "WHAT value V at element K is not an integer in
 * 0..MAX (input, sample N)". 1, or 0 at the end of the stream. */
int input_read_ints(input *in, int32_t *out, int32_t max, const char *what);
#define LABEL_MAX ((int32_t)1 << 24)   /* labels: 0..2^24, each exact in a float */
/* input_label: name the operand in role errors ("PRED", "B") and add the
 * tool's hint (NULL: none), e.g. which option reads it otherwise. */
void input_label(input *in, const char *what, const char *hint);
const shape_t *input_shape(const input *in);
int64_t input_size(const input *in);          /* elements per sample */
const char *input_name(const input *in);      /* for messages */
int64_t input_index(const input *in);         /* samples returned so far */
/* input_is_u8: the stream's values are uint8 0..255 (u1 arrays, IDX u8,
 * netpbm maxval 255); pass-through tools keep them uint8. */
int input_is_u8(const input *in);
/* The pass-through convention of tools that move samples about (pick, pad,
 * chan, stack, totsv): uint8 streams stay uint8 (their raw values), anything
 * else is read as intensities and written as float32. A uint8 stream whose
 * later record is not uint8 is an error then, not a silent truncation. */
enum role input_keep_role(const input *in);
dtype_t input_keep_dtype(const input *in);
/* input_require_images: die unless the samples are images, (C,H,W) or (H,W). */
void input_require_images(const input *in);
void input_close(input *in);
/* input_abandon: free what an input_open or dataset_load that died left
 * half built (a fuzzing harness whose die_hook longjmps out calls it;
 * tools never need it, since die() exits). */
void input_abandon(void);

/* Output: a tensor stream in records of many samples (to a regular file
 * one record, its header written again with the count at output_close, so
 * np.load reads it whole), or with pgm set a
 * PGM (C == 1) / PAM (C > 1) stream. Values are in the dtype's own units:
 * DT_U8 0..255 (written as they are, also to PGM), DT_F32 as they are
 * (PGM: round(255 x) clamped to 0..255). */
typedef struct output output;
output *output_open(FILE *f, int pgm, dtype_t dt, const shape_t *shape);
void output_write(output *o, const float *sample);
void output_close(output *o);   /* flush; a write error (full disk) dies */
/* output_name: o writes the file NAME (not stdout): its write errors say
 * "cannot write NAME: ..." */
void output_name(output *o, const char *name);
/* A write error of our own: EPIPE ends the tool quietly, anything else dies. */
void output_check(FILE *f);

/* A stream in memory, as stored: uint8 when the stream is uint8, else
 * floats; the role is applied when a sample is taken. All its n samples,
 * or (dataset_load_keep) only some of them: a rank of an MPI training
 * keeps its share. Samples are named by their index in the stream, 0..n-1,
 * whichever are kept. */
typedef struct {
	int64_t n;           /* samples in the stream */
	shape_t shape;
	int64_t size;        /* elements per sample */
	int is_u8;
	int64_t nkept;       /* samples in memory: n, or those kept */
	int64_t *kept;       /* their indices, ascending; NULL: all, 0..n-1 */
	uint8_t *u8;         /* (nkept, size) stored values, when is_u8 */
	float *f32;          /* (nkept, size) stored values, otherwise */
	float *scale;        /* (nkept) stored x scale = intensity, with f32 */
	char *name;
	const char *what, *hint;   /* dataset_label's */
} dataset;

dataset *dataset_load(const char *path);
/* dataset_load_keep: the stream of path read through as dataset_load
 * reads it (the same checks and errors), keeping in memory only samples
 * keep[0..nkeep-1] (ascending stream indices); n is the whole count. An
 * index at or past the end of the stream is an error naming it. */
dataset *dataset_load_keep(const char *path, const int64_t *keep, int64_t nkeep);
/* dataset_load_range: dataset_load_keep of samples [lo, hi) */
dataset *dataset_load_range(const char *path, int64_t lo, int64_t hi);
/* dataset_count: the samples of the stream of path, read through and
 * discarded (a stream says its count nowhere but at its end) */
int64_t dataset_count(const char *path);
/* dataset_index: the stream index of the j-th sample in memory */
static inline int64_t dataset_index(const dataset *d, int64_t j)
{
	return d->kept ? d->kept[j] : j;
}
/* dataset_get: sample i (a stream index, kept) as floats, mapped by role
 * as input_read maps it. A sample not kept is an error (a caller's bug). */
void dataset_get(const dataset *d, int64_t i, float *out, enum role role);
/* dataset_label: input_label for a dataset's role errors in dataset_get. */
void dataset_label(dataset *d, const char *what, const char *hint);
/* dataset_get_ints: sample i as input_read_ints reads it (dies the same way). */
void dataset_get_ints(const dataset *d, int64_t i, int32_t *out, int32_t max, const char *what);
void dataset_free(dataset *d);

#endif
