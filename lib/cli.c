/* cli.c: option values, operands, version, progress bar. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netpbm/pam.h>

#include "cli.h"
#include "util.h"

void cli_init(int argc, char **argv, const char *name)
{
	(void)argc;
	(void)argv;
	progname = name;
	signal(SIGPIPE, SIG_DFL);
	opterr = 0;   /* our own one-line messages: cli_bad_option */
	pm_init(name, 0);
}

void cli_bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		usage_die("option '%s' needs a value", arg);
	if (optopt && strncmp(arg, "--", 2) != 0)
		usage_die("unknown option '-%c'", optopt);
	usage_die("unknown option '%s'", arg);
}

/* the tasks running on the machine besides this one, from /proc/stat (-1:
 * not known) */
static int others_running(void)
{
	FILE *f = fopen("/proc/stat", "r");
	char line[256];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "procs_running %d", &n) == 1)
			break;
	fclose(f);
	return n < 1 ? -1 : n - 1;
}

void cli_wait_policy(char **argv)
{
	if (getenv("OMP_WAIT_POLICY"))
		return;
	if (others_running() == 0) {
		setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
		setenv("GOMP_SPINCOUNT", CLI_SPINCOUNT, 0);
	} else {
		setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
	}
	execv("/proc/self/exe", argv);
	/* no /proc: libgomp's default */
}

void cli_version(void)
{
	cli_version_with(NULL);
}

void cli_version_with(const char *line)
{
	printf("%s (segpipe) %s\n", progname, SEGPIPE_VERSION);
	if (line)
		printf("%s\n", line);
	exit(0);
}

void cli_help(const char *text)
{
	fputs(text, stdout);
	exit(0);
}

long cli_long(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage_die("%s: '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
	return v;
}

int cli_threads(const char *opt, const char *s)
{
	int n = (int)cli_long(opt, s, 1, CLI_THREADS_MAX), err, k = threads_startable(n, &err);

	if (k < n)
		usage_die("%s %d: this process can run only %d threads here (%s)", opt, n, k,
			  strerror(err));
	return n;
}

double cli_double(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		usage_die("%s: '%s' is not a number in %g..%g", opt, s, lo, hi);
	return v;
}

uint64_t cli_seed(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-')
		usage_die("%s: '%s' is not a non-negative integer", opt, s);
	return v;
}

void cli_size(const char *opt, const char *s, int *w, int *h)
{
	char *end, *end2;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (errno || end == s || (*end != 'x' && *end != 'X'))
		usage_die("%s: '%s' is not a size WxH", opt, s);
	b = strtol(end + 1, &end2, 10);
	if (errno || end2 == end + 1 || *end2 || a < 1 || b < 1 || a > 65535 || b > 65535)
		usage_die("%s: '%s' is not a size WxH (1..65535 each)", opt, s);
	*w = (int)a;
	*h = (int)b;
}

void cli_range(const char *opt, const char *s, long *a, long *b, long lo, long hi)
{
	char *end, *end2;

	errno = 0;
	*a = strtol(s, &end, 10);
	if (errno || end == s)
		usage_die("%s: '%s' is not N or A-B", opt, s);
	if (*end == '\0') {
		*b = *a;
	} else if (*end == '-') {
		*b = strtol(end + 1, &end2, 10);
		if (errno || end2 == end + 1 || *end2)
			usage_die("%s: '%s' is not N or A-B", opt, s);
	} else {
		usage_die("%s: '%s' is not N or A-B", opt, s);
	}
	if (*a < lo || *b > hi || *a > *b)
		usage_die("%s: '%s' is not a range within %ld..%ld", opt, s, lo, hi);
}

int cli_list(const char *opt, const char *s, long *v, int max, long lo, long hi)
{
	int n = 0;
	const char *p = s;

	for (;;) {
		char *end;
		long x;

		errno = 0;
		x = strtol(p, &end, 10);
		if (errno || end == p || (*end && *end != ',') || x < lo || x > hi || n == max)
			usage_die("%s: '%s' is not a list of integers in %ld..%ld", opt, s, lo, hi);
		v[n++] = x;
		if (!*end)
			return n;
		p = end + 1;
	}
}

void cli_no_effect(int given, const char *opt, const char *why)
{
	if (given)
		usage_die("%s does nothing %s", opt, why);
}

int cli_is_stdin(const char *path)
{
	return !path || strcmp(path, "-") == 0;
}

void cli_operands(int argc, char **argv, int optind, int min, int max, const char **names)
{
	int n = argc - optind;

	if (n < min)
		usage_die("missing operand");
	if (n > max)
		usage_die("extra operand '%s'", argv[optind + max]);
	for (int i = 0; i < max; i++)
		names[i] = i < n ? argv[optind + i] : NULL;
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_start(progress *p, const char *label, int64_t total)
{
	p->on = isatty(2);
	p->total = total;
	p->label = label;
	p->start = now_seconds();
}

void progress_update(progress *p, int64_t done, const char *extra)
{
	char bar[31];
	double t, frac, left;
	int fill;

	if (!p->on || p->total <= 0)
		return;
	t = now_seconds() - p->start;
	frac = (double)done / p->total;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * 30);
	memset(bar, '#', fill);
	memset(bar + fill, '.', 30 - fill);
	bar[30] = '\0';
	left = frac > 0 ? t / frac - t : 0;
	fprintf(stderr, "\r%s [%s] %3.0f%% %s %.0fs left \033[K", p->label, bar,
		frac * 100, extra ? extra : "", left);
}

void progress_end(progress *p)
{
	if (p->on)
		fputs("\r\033[K", stderr);
}
