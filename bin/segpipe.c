/* segpipe: the front command. `segpipe TOOL ARGS` runs one of the tools,
 * which are installed in a directory of their own (as git's are), so that
 * names like montage, compose, stack, pick and mix never hide a user's
 * commands of the same name. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tensor.h"

static const char usage[] =
"Usage: segpipe TOOL [ARGS...]\n"
"       segpipe [--exec-path | --man-path | --help | --version]\n"
"Run the segpipe tool TOOL with ARGS: `segpipe otsu images.gz` is otsu.\n"
"The tools live in a directory of their own, not on PATH, so their short\n"
"names (montage, compose, stack, pick, mix, ...) hide no other command. For\n"
"the short names in pipelines, put that directory first on PATH:\n"
"    PATH=$(segpipe --exec-path):$PATH\n"
"and their manual pages on MANPATH:\n"
"    MANPATH=$(segpipe --man-path):$MANPATH\n"
"\n"
"      --exec-path  print the directory of the tools and exit\n"
"      --man-path   print the directory of their manual pages and exit\n"
"  -h, --help       show this help and the tools, and exit\n"
"      --version    show the version and exit\n"
"\n"
"SEGPIPE_EXEC_PATH, when set, is the directory of the tools.\n";

/* the tools' directory: $SEGPIPE_EXEC_PATH; installed, ../libexec/segpipe
 * beside this program's bin; in the source tree, this program's own bin/ */
static const char *exec_path(void)
{
	static char dir[PATH_MAX];
	char self[PATH_MAX], probe[PATH_MAX + 64];
	const char *env = getenv("SEGPIPE_EXEC_PATH");
	ssize_t n;
	struct stat st;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		die("cannot find the tools: /proc/self/exe:");
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(probe, sizeof probe, "%s/../libexec/segpipe", self);
	if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!realpath(probe, dir))
			die("cannot resolve %s:", probe);
	} else {
		snprintf(dir, sizeof dir, "%s", self);
	}
	return dir;
}

/* the manual pages of the tools: ../share/segpipe/man beside bin when
 * installed, the source tree's man/ there */
static const char *man_path(void)
{
	static char dir[PATH_MAX];
	char probe[PATH_MAX + 64];
	const char *ex = exec_path();
	struct stat st;

	snprintf(probe, sizeof probe, "%s/../../share/segpipe/man", ex);
	if (stat(probe, &st) != 0 || !S_ISDIR(st.st_mode))
		snprintf(probe, sizeof probe, "%s/../man", ex);
	if (!realpath(probe, dir))
		die("cannot find the manual pages (%s):", probe);
	return dir;
}

/* is_tool: name is an executable file in dir (and not this front command) */
static int is_tool(const char *dir, const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;

	if (name[0] == '.' || strcmp(name, "segpipe") == 0)
		return 0;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_tools: the tools found, in columns */
static void list_tools(void)
{
	const char *dir = exec_path();
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, width = 0;

	if (!d)
		die("cannot read the tools' directory %s:", dir);
	while ((e = readdir(d))) {
		if (!is_tool(dir, e->d_name))
			continue;
		if (n == cap)
			names = xrealloc(names, (cap = cap ? 2 * cap : 32) * sizeof *names);
		names[n] = xmalloc(strlen(e->d_name) + 1);
		strcpy(names[n], e->d_name);
		if (strlen(names[n]) > width)
			width = strlen(names[n]);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	printf("\nThe tools (in %s):\n", dir);
	for (size_t i = 0, per = 72 / (width + 2); i < n; i++) {
		int last = i + 1 == n || (i + 1) % per == 0;
		printf("%s  %-*s", i % per ? "" : "\n ", last ? 0 : (int)width, names[i]);
		free(names[i]);
	}
	printf("\n\nEach has a manual page: man TOOL, with MANPATH as above.\n");
	free(names);
	if (fflush(stdout) != 0)
		die("write error:");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "exec-path", no_argument, NULL, 'E' },
		{ "man-path", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	char path[PATH_MAX + NAME_MAX + 2];
	const char *dir, *tool;
	int c;

	cli_init(argc, argv, "segpipe");
	/* options only before TOOL: everything after it is the tool's */
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'E': printf("%s\n", exec_path()); return 0;
		case 'M': printf("%s\n", man_path()); return 0;
		case 'h':
			fputs(usage, stdout);
			list_tools();
			return 0;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	if (optind >= argc) {
		fputs(usage, stdout);
		list_tools();
		return 0;
	}
	tool = argv[optind];
	dir = exec_path();
	if (strchr(tool, '/') || !is_tool(dir, tool))
		usage_die("'%s' is not a segpipe tool (they are in %s)", tool, dir);
	snprintf(path, sizeof path, "%s/%s", dir, tool);
	argv[optind] = path;
	execv(path, argv + optind);
	die("cannot run %s:", path);
}
