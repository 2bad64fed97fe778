/* terminal.c: binary data is not written to a terminal (see terminal.h). */
#include <unistd.h>

#include "terminal.h"
#include "util.h"

int binary_force;

void binary_out_check(FILE *f, const char *what)
{
	if (!binary_force && isatty(fileno(f)))
		die("refusing to write %s to a terminal; redirect it (> FILE or | TOOL), "
		    "or use --force", what);
}
