/* terminal.h: binary data is not written to a terminal (gzip's rule). A
 * tensor stream, a PGM or a model on a terminal is noise that can leave
 * the terminal in a strange state; the user meant a redirection. Every
 * writer of binary data (output_open, model_save) asks binary_out_check
 * first; --force (CLI_FORCE_LONGOPT in a tool's getopt_long table) lets it
 * through. */
#ifndef SEGPIPE_TERMINAL_H
#define SEGPIPE_TERMINAL_H

#include <stdio.h>

extern int binary_force;   /* --force: write to a terminal all the same */

/* binary_out_check: when f is a terminal and binary_force is not set, die
 * with one line: "refusing to write WHAT to a terminal ...". */
void binary_out_check(FILE *f, const char *what);

/* --force, for a tool's long options; its case sets binary_force */
enum { CLI_OPT_FORCE = 0x4600 };
#define CLI_FORCE_LONGOPT { "force", no_argument, NULL, CLI_OPT_FORCE }
#define CLI_FORCE_USAGE \
"      --force             write the binary output even to a terminal\n"

#endif
