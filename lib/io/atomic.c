/* atomic.c: temporary file + rename, so a killed tool never leaves half a file. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "atomic.h"
#include "util.h"

static char tmp_path[4096];
static char final_path[4096];
static FILE *tmp_file;
static int direct;   /* tmp_file is the named file itself: a device or a FIFO */

void atomic_cleanup(void)
{
	if (tmp_path[0]) {
		unlink(tmp_path);
		tmp_path[0] = '\0';
	}
}

static void on_signal(int sig)
{
	atomic_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* catch_signal: remove the temporary file on sig, unless the program
 * handles sig itself (the trainer's interrupt writes a checkpoint: a
 * signal during a write lets the write finish first) */
static void catch_signal(int sig)
{
	struct sigaction old;

	if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		signal(sig, on_signal);
}

FILE *atomic_open(const char *path)
{
	int fd;

	struct stat st;

	if (tmp_file)
		die("internal error: two atomic files at once (%s)", path);
	/* a device or a FIFO (/dev/null, /dev/stdout, a named pipe) is written
	 * as it is: renaming a file over it would replace the device */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			die("cannot write %s: it is a directory", path);
		tmp_file = fopen(path, "wb");
		if (!tmp_file)
			die("cannot open %s:", path);
		snprintf(final_path, sizeof final_path, "%s", path);
		direct = 1;
		return tmp_file;
	}
	if (snprintf(tmp_path, sizeof tmp_path, "%s.tmpXXXXXX", path) >= (int)sizeof tmp_path ||
	    snprintf(final_path, sizeof final_path, "%s", path) >= (int)sizeof final_path) {
		tmp_path[0] = '\0';
		die("file name too long (%s)", path);
	}
	fd = mkstemp(tmp_path);
	if (fd < 0) {
		tmp_path[0] = '\0';
		die("cannot create %s:", path);
	}
	/* mkstemp makes the file 0600; a model is as readable as any new file */
	{
		mode_t um = umask(0);
		umask(um);
		if (fchmod(fd, 0666 & ~um) != 0)
			die("cannot set the mode of %s:", path);
	}
	catch_signal(SIGINT);
	catch_signal(SIGTERM);
	catch_signal(SIGHUP);
	tmp_file = fdopen(fd, "wb");
	if (!tmp_file)
		die("cannot open %s:", path);
	return tmp_file;
}

void atomic_commit(FILE *f)
{
	if (f != tmp_file)
		die("internal error: atomic_commit of an unknown file");
	if (direct) {
		int bad = fflush(f) != 0, err = errno;
		tmp_file = NULL;
		direct = 0;
		if (fclose(f) != 0 && !bad) {
			bad = 1;
			err = errno;
		}
		errno = err;
		if (bad)
			die("cannot write %s:", final_path);
		return;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		tmp_file = NULL;
		die("cannot write %s:", final_path);
	}
	tmp_file = NULL;
	if (fclose(f) != 0)
		die("cannot write %s:", final_path);
	if (rename(tmp_path, final_path) != 0)
		die("cannot rename %s to %s:", tmp_path, final_path);
	tmp_path[0] = '\0';
}
