/* terminal.c: binary data is not written to a terminal (see terminal.h). */
#include <unistd.h>

#include "terminal.h"
#include "util.h"

int binary_force;

void binary_out_check(FILE *f, const char *what)
{
	/* a rank's standard output is mpirun's pseudo-terminal, whatever
	 * mpirun's own is: not checked there */
	if (!binary_force && !launched_by_mpirun() && isatty(fileno(f)))
		die("refusing to write %s to a terminal; redirect it (> FILE or | TOOL), "
		    "or use --force", what);
}
