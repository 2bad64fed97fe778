/* test_die.c: die() from any thread ends the process once: one message,
 * exit status 1, no hang, and the registered temporary file removed. Each
 * case runs in a child (fork) whose stderr is a file, under a time limit;
 * its exit handler hangs or sleeps, as libraries' destructors can at exit
 * while other threads still work, so only an exit that skips them passes. */
#define _GNU_SOURCE
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "util.h"

static int failures;
static char dir[64], errpath[128], tmppath[128];

static void report(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void hang_at_exit(void)
{
	for (;;)
		pause();
}

static void slow_exit(void)
{
	sleep_ms(500);
}

/* the cases: what the child does */
enum { WORKER_DIES, ALL_DIE, MAIN_DIES_IN_REGION, WORKER_DIES_WRITING, MAIN_DIES };

static void child(int what)
{
	FILE *f;

	omp_set_num_threads(4);
	switch (what) {
	case WORKER_DIES:
		/* one worker runs out of memory; the others die a moment later,
		 * while an exit through exit() would still be running */
		atexit(hang_at_exit);
		#pragma omp parallel
		{
			if (omp_get_thread_num() == 1)
				die("out of memory (%d bytes)", 1);
			sleep_ms(200);
			die("second message from thread %d", omp_get_thread_num());
		}
		break;
	case ALL_DIE:
		atexit(slow_exit);
		#pragma omp parallel
		{
			#pragma omp barrier
			die("thread %d", omp_get_thread_num());
		}
		break;
	case MAIN_DIES_IN_REGION:
		atexit(hang_at_exit);
		#pragma omp parallel
		{
			if (omp_get_thread_num() == 0)
				die("main thread");
			sleep_ms(300);
		}
		break;
	case WORKER_DIES_WRITING:
		atexit(hang_at_exit);
		f = atomic_open(tmppath);
		fputs("half a file", f);
		fflush(f);
		#pragma omp parallel
		{
			if (omp_get_thread_num() == 2)
				die("out of memory (%d bytes)", 2);
			sleep_ms(300);
		}
		atomic_commit(f);
		break;
	case MAIN_DIES:
		/* outside a parallel region: an ordinary exit, handlers run */
		atexit(slow_exit);
		#pragma omp parallel
		sleep_ms(10);
		die("plain");
	}
	_exit(0);
}

/* run the case; 1 if it ended with status 1 within 5 s and exactly one
 * line on stderr, starting with want */
static int ends_once(int what, const char *want)
{
	char line[256] = "";
	int status = 0, lines = 0;
	pid_t pid;
	FILE *e;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (!freopen(errpath, "w", stderr))
			_exit(3);
		child(what);
	}
	for (int t = 0; t < 500; t++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sleep_ms(10);
		if (t == 499) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			printf("     the child hung\n");
			return 0;
		}
	}
	e = fopen(errpath, "r");
	if (!e)
		return 0;
	for (char buf[256]; fgets(buf, sizeof buf, e); lines++)
		if (lines == 0)
			snprintf(line, sizeof line, "%s", buf);
	fclose(e);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || lines != 1 ||
	    strncmp(line, want, strlen(want)) != 0) {
		printf("     status %d, %d lines on stderr, the first: %s", status, lines, line);
		return 0;
	}
	return 1;
}

static int no_files_but(const char *keep)
{
	char cmd[200];

	snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s')\" = '%s'", dir, keep);
	return system(cmd) == 0;
}

int main(void)
{
	progname = "test_die";
	snprintf(dir, sizeof dir, "/tmp/test_die.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp:");
	snprintf(errpath, sizeof errpath, "%s/err", dir);
	snprintf(tmppath, sizeof tmppath, "%s/out.model", dir);

	report(ends_once(WORKER_DIES, "test_die: out of memory (1 bytes)"),
	       "a worker thread dies: one message, exit 1, no hang");
	report(ends_once(ALL_DIE, "test_die: thread "), "every thread dies at once: one message");
	report(ends_once(MAIN_DIES_IN_REGION, "test_die: main thread"),
	       "the main thread dies inside a parallel region: one message, no hang");
	report(ends_once(WORKER_DIES_WRITING, "test_die: out of memory (2 bytes)") && no_files_but("err"),
	       "a worker dies while a file is written: its temporary file is removed");
	report(ends_once(MAIN_DIES, "test_die: plain"), "the main thread dies outside a region");

	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("     could not remove %s\n", dir);
	if (failures) {
		printf("test_die: %d FAILED\n", failures);
		return 1;
	}
	printf("test_die: all passed\n");
	return 0;
}
