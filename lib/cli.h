/* cli.h: what every tool's main does the same way. */
#ifndef SEGPIPE_CLI_H
#define SEGPIPE_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <stdnoreturn.h>

/* cli_init: set progname, make a broken pipe end the tool quietly, init libnetpbm. */
void cli_init(int argc, char **argv, const char *name);
/* cli_bad_option: the usage error for what getopt_long rejected (cli_init
 * sets opterr = 0; option strings start with ':'): a missing value when c is
 * ':', else an unknown option. */
noreturn void cli_bad_option(int c, char **argv);
/* cli_wait_policy: for the tools that compute on several threads: unless
 * the user chose OMP_WAIT_POLICY, re-execute the program with a policy for
 * the machine as it is at start-up (libgomp reads it only then). Nothing
 * else running: threads waiting at a barrier spin a little
 * (GOMP_SPINCOUNT, CLI_SPINCOUNT unless set) before they sleep, which made
 * 2-thread training 35% faster than sleeping at once (AMX Xeon, default
 * U-Net, 2026-12-02). Anything else running: they sleep at once (PASSIVE),
 * since spinning threads that share cores with other work slowed two
 * side-by-side 2-thread trainings 2.2x (10000 spins) and more (the
 * default, 300000). Call before any input is read. */
#define CLI_SPINCOUNT "10000"
void cli_wait_policy(char **argv);
/* cli_version: "NAME (segpipe) VERSION" on stdout, exit 0. */
void cli_version(void);
/* cli_version_with: the same line, then line (unless NULL), exit 0. */
void cli_version_with(const char *line);
/* cli_usage: print usage text to stdout and exit 0. */
void cli_help(const char *text);

/* Parsers for option values; a bad value is a usage error naming the option. */
long cli_long(const char *opt, const char *s, long lo, long hi);
/* cli_threads: every tool's -j/--threads N: 1..CLI_THREADS_MAX, and no more
 * than the process can run at once here (threads_startable), else a usage
 * error that says how many it can. */
#define CLI_THREADS_MAX 256
int cli_threads(const char *opt, const char *s);
double cli_double(const char *opt, const char *s, double lo, double hi);
uint64_t cli_seed(const char *opt, const char *s);
/* cli_size: "WxH" */
void cli_size(const char *opt, const char *s, int *w, int *h);
/* cli_range: "A" or "A-B" (A <= B) within lo..hi */
void cli_range(const char *opt, const char *s, long *a, long *b, long lo, long hi);
/* cli_list: comma-separated integers; returns the count, fills v (at most max). */
int cli_list(const char *opt, const char *s, long *v, int max, long lo, long hi);

/* cli_no_effect: an option that does nothing in the combination given is
 * a usage error, never ignored: when given is set, "OPT does nothing WHY"
 * (WHY: "without --shuffle", "with --resume (...)"), exit 2. */
void cli_no_effect(int given, const char *opt, const char *why);

/* cli_is_stdin: the operand means standard input (absent or "-"). */
int cli_is_stdin(const char *path);

/* Operands: at most n file names after the options; fills names (NULL = stdin). */
void cli_operands(int argc, char **argv, int optind, int min, int max, const char **names);

/* Progress bar on stderr when stderr is a terminal. */
typedef struct {
	int on;
	int64_t total;
	double start;
	const char *label;
} progress;
void progress_start(progress *p, const char *label, int64_t total);
void progress_update(progress *p, int64_t done, const char *extra);
void progress_end(progress *p);
double now_seconds(void);

#endif
