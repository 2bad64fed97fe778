/* history.c: the --history TSV, rewritten whole at every epoch (history.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomic.h"
#include "history.h"
#include "util.h"

static const char header[] = "epoch\ttrain_loss\tval_loss\tlr\tseconds\timages_per_s\n";

static void append(history *h, const char *s, size_t n)
{
	if (h->len + n + 1 > h->cap) {
		h->cap = 2 * (h->len + n + 1);
		h->text = xrealloc(h->text, h->cap);
	}
	memcpy(h->text + h->len, s, n);
	h->len += n;
	h->text[h->len] = '\0';
}

/* the rows of the file at h->path for epochs 1..keep, in sequence */
static void keep_rows(history *h, int keep)
{
	FILE *f = fopen(h->path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f) {
		if (errno == ENOENT)
			return;
		die("cannot open %s:", h->path);
	}
	while (h->rows < keep && (n = getline(&line, &cap, f)) > 0) {
		char *end;
		long e;

		if (line[n - 1] != '\n')
			break;  /* cut short */
		if (!strcmp(line, header))
			continue;
		e = strtol(line, &end, 10);
		if (end == line || *end != '\t' || e != h->rows + 1)
			break;
		append(h, line, (size_t)n);
		h->rows++;
	}
	if (ferror(f))
		die("cannot read %s:", h->path);
	free(line);
	fclose(f);
}

void history_begin(history *h, const char *path, int resume, int keep)
{
	struct stat st;

	memset(h, 0, sizeof *h);
	h->path = path;
	append(h, header, sizeof header - 1);
	/* a device or a FIFO (/dev/stderr, a pipe) is neither read back nor
	 * rewritten: it gets each row once, as it comes */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			die("cannot write %s: it is a directory", path);
		if (!(h->stream = fopen(path, "w")))
			die("cannot open %s:", path);
		return;
	}
	if (resume)
		keep_rows(h, keep);
}

void history_add(history *h, int epoch, double train_loss, double val_loss, double lr,
		 double seconds, double images_per_s)
{
	char row[256];
	int n = snprintf(row, sizeof row, "%d\t%.8g\t%.8g\t%g\t%.3f\t%.1f\n", epoch, train_loss,
			 val_loss, lr, seconds, images_per_s);

	append(h, row, (size_t)n);
	h->rows = epoch;
}

void history_write(history *h)
{
	FILE *f;

	if (h->stream) {
		if (fwrite(h->text + h->written, 1, h->len - h->written, h->stream) !=
		    h->len - h->written || fflush(h->stream) != 0)
			die("cannot write %s:", h->path);
		h->written = h->len;
		return;
	}
	f = atomic_open(h->path);

	if (fwrite(h->text, 1, h->len, f) != h->len)
		die("cannot write %s:", h->path);
	atomic_commit(f);
}

void history_end(history *h)
{
	if (h->stream && fclose(h->stream) != 0)
		die("cannot write %s:", h->path);
	free(h->text);
	h->text = NULL;
}
