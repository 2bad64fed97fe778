/* history.h: the --history TSV of a training, one row per epoch, kept in
 * memory and rewritten whole at every epoch end (temporary file, fsync,
 * rename: lib/atomic.c), so a full disk or a kill never leaves half a row,
 * and a resumed run keeps exactly the rows of the epochs its model has. */
#ifndef SEGPIPE_HISTORY_H
#define SEGPIPE_HISTORY_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
	const char *path;
	char *text;         /* the header line and the rows so far */
	size_t len, cap;
	int rows;           /* = the last epoch listed */
	FILE *stream;       /* a device or FIFO, written as it is */
	size_t written;     /* bytes of text already in stream */
} history;

/* history_begin: a history for path with the header line only; with
 * resume, the rows of the file at path for epochs 1..keep, in order (a
 * missing file has none; a row out of sequence, cut short or past keep
 * ends what is kept: a crash between the history and the model write left
 * it one epoch ahead of the model). */
void history_begin(history *h, const char *path, int resume, int keep);
/* history_add: one epoch's row, in memory (epochs follow on from rows). */
void history_add(history *h, int epoch, double train_loss, double val_loss, double lr,
		 double seconds, double images_per_s);
/* history_write: the whole file, atomically (a device or a FIFO: the rows
 * not yet written); dies naming path on error. history_end: closes, frees. */
void history_write(history *h);
void history_end(history *h);

#endif
