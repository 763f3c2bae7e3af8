/*
 * clidoc.h - the man page (roff) and the bash completion script, written
 * from the commands' flag tables (core/cli.h), the same ones --help prints
 * and getopt parses with: `safehouse help --man` and `safehouse completion
 * bash` cannot drift from what the binary accepts.
 */
#ifndef SH_CLIDOC_H
#define SH_CLIDOC_H

#include <stddef.h>
#include <stdio.h>

#include "core/cli.h"

/* A word completion offers after a path of words that no flag table names:
 * top-level commands without flags ("version"), their arguments. */
typedef struct sh_clidoc_word {
    const char *path; /* the words before it: "" for the top level */
    const char *word;
    const char *help; /* for the man page; NULL: not listed there */
} sh_clidoc_word;

typedef struct sh_clidoc {
    const sh_cli_cmd *const *cmds;
    size_t ncmds;
    const sh_clidoc_word *words;
    size_t nwords;
    const char *version;
} sh_clidoc;

/* safehouse(1) in roff (man(7) macros). */
void sh_clidoc_man(FILE *f, const sh_clidoc *doc);
/* A bash script defining _safehouse and `complete -F _safehouse safehouse`.
 * Returns 0, or -1 when the tables hold more commands than it can group. */
int sh_clidoc_bash(FILE *f, const sh_clidoc *doc);

#endif
