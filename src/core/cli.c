/* cli.c - flag tables to getopt, help text and global-flag hoisting (see cli.h). */
#include "core/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define HELP_COLUMN 28

int sh_cli_is_help(const char *arg)
{
    return strcmp(arg, "help") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

void sh_cli_usage(FILE *f, const sh_cli_cmd *cmd)
{
    fprintf(f, "usage: safehouse %s %s\n", cmd->name, cmd->synopsis);
    fprintf(f, "run 'safehouse %s --help' for every flag\n", cmd->name);
}

void sh_cli_help(FILE *f, const sh_cli_cmd *cmd)
{
    char left[96];
    int n;

    fprintf(f, "usage: safehouse %s %s\n\n%s\n\nflags:\n", cmd->name, cmd->synopsis, cmd->summary);
    for (size_t i = 0; i < cmd->nflags; i++) {
        const sh_cli_flag *fl = &cmd->flags[i];
        n = snprintf(left, sizeof(left), "--%s%s%s", fl->name, fl->arg ? " " : "",
                     fl->arg ? fl->arg : "");
        if (n < 0)
            continue;
        if (n < HELP_COLUMN - 2)
            fprintf(f, "  %-*s%s\n", HELP_COLUMN - 2, left, fl->help);
        else
            fprintf(f, "  %s\n  %-*s%s\n", left, HELP_COLUMN - 2, "", fl->help);
    }
}

/* Builds getopt's table from cmd's flags; -1 if there are too many. */
static int options(const sh_cli_cmd *cmd, struct option *opts)
{
    if (cmd->nflags > SH_CLI_FLAGS_MAX)
        return -1;
    for (size_t i = 0; i < cmd->nflags; i++) {
        opts[i].name = cmd->flags[i].name;
        opts[i].has_arg = cmd->flags[i].arg ? required_argument : no_argument;
        opts[i].flag = NULL;
        opts[i].val = cmd->flags[i].id;
    }
    memset(&opts[cmd->nflags], 0, sizeof(opts[0]));
    return 0;
}

int sh_cli_parse(const sh_cli_cmd *cmd, int argc, char **argv, sh_cli_flag_fn fn, void *ctx)
{
    struct option opts[SH_CLI_FLAGS_MAX + 1];
    int opt;

    if (options(cmd, opts) != 0)
        return SH_CLI_ERR;
    optind = 1;
    opterr = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == SH_CLI_HELP_ID) {
            sh_cli_help(stdout, cmd);
            return SH_CLI_HELP;
        }
        if (opt == '?' || opt == ':' || fn(ctx, opt, optarg) != 0)
            goto bad;
    }
    if (optind < argc) {
        fprintf(stderr, "safehouse: unexpected argument '%s'\n", argv[optind]);
        goto bad;
    }
    return SH_CLI_OK;
bad:
    sh_cli_usage(stderr, cmd);
    return SH_CLI_ERR;
}

/* Length of the global flag at argv[i] (1: "--store=URL", 2: "--store
 * URL"), or 0 when argv[i] is not one. */
static int global_at(int argc, char **argv, int i)
{
    static const char *const globals[] = {"--data-dir", "--store"};

    for (size_t g = 0; g < sizeof(globals) / sizeof(globals[0]); g++) {
        size_t n = strlen(globals[g]);
        if (strncmp(argv[i], globals[g], n) != 0)
            continue;
        if (argv[i][n] == '=')
            return 1;
        if (argv[i][n] == '\0')
            return i + 1 < argc ? 2 : 0;
    }
    return 0;
}

int sh_cli_hoist_globals(int argc, char **argv)
{
    char **words, **globals;
    int nw = 0, ng = 0, i = 1, len;

    if (argc < 2)
        return 0;
    words = calloc((size_t)argc * 2, sizeof(*words));
    if (words == NULL)
        return -1;
    globals = words + argc;
    for (; i < argc; i++) {
        if ((len = global_at(argc, argv, i)) > 0) {
            for (int k = 0; k < len; k++)
                globals[ng++] = argv[i + k];
            i += len - 1;
        } else if (argv[i][0] != '-') {
            words[nw++] = argv[i];
        } else {
            break; /* the subcommand's own flags: leave the rest as it is */
        }
    }
    memcpy(argv + 1, words, (size_t)nw * sizeof(*argv));
    memcpy(argv + 1 + nw, globals, (size_t)ng * sizeof(*argv));
    free(words);
    return 0;
}
