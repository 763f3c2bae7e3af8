/*
 * tools.h - developer and operator tools that are not part of serving:
 * `safehouse seed` (fill a data dir with a realistic population) and
 * `safehouse bench-internal` (in-process micro-benchmarks for `make bench`).
 */
#ifndef SH_TOOLS_H
#define SH_TOOLS_H

/* Each returns a process exit code. */
int sh_tool_seed(int argc, char **argv);
int sh_tool_bench(int argc, char **argv);

#endif
