/*
 * tools.h - developer and operator tools that are not part of serving:
 * `safehouse seed` (fill a data dir with a realistic population) and
 * `safehouse bench-internal` (in-process micro-benchmarks for `make bench`).
 */
#ifndef SH_TOOLS_H
#define SH_TOOLS_H

#include "core/cli.h"

/* Each returns a process exit code. */
int sh_tool_seed(int argc, char **argv);
int sh_tool_bench(int argc, char **argv);
/* The flag table of `safehouse seed` (for the man page, completion). */
extern const sh_cli_cmd sh_tool_seed_cmd;

#endif
