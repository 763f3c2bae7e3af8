/*
 * cli.h - command-line flags as data: each command (serve, admin revoke,
 * seed, ...) is one table of its flags, each with the line of help that
 * --help prints. The table is the only list of a command's flags: getopt
 * parses with it, --help prints it, and tests/api/test_46_cli.py compares
 * it with the docs, so the three cannot drift apart. The same tables also
 * drive `--config FILE` (one `name = value` line per flag), the man page
 * and the bash completion (core/clidoc.h).
 */
#ifndef SH_CLI_H
#define SH_CLI_H

#include <stddef.h>
#include <stdio.h>

#define SH_CLI_FLAGS_MAX 32
/* what getopt returns for -h and --help in every command */
#define SH_CLI_HELP_ID 'h'
/* what getopt returns for --config FILE; sh_cli_parse handles it itself */
#define SH_CLI_CONFIG_ID 0x10000
/* the largest config file read: a settings file, not a data file */
#define SH_CLI_CONFIG_MAX_BYTES ((size_t)64 * 1024)

typedef struct sh_cli_flag {
    const char *name; /* without the leading "--" */
    const char *arg;  /* the value's placeholder ("DIR"), or NULL: takes no value */
    int id;           /* what the flag callback gets */
    const char *help; /* one line */
} sh_cli_flag;

typedef struct sh_cli_cmd {
    const char *name;     /* as typed after "safehouse": "serve", "admin revoke" */
    const char *synopsis; /* what follows the name in the usage line */
    const char *summary;  /* one line on what the command does */
    const sh_cli_flag *flags;
    size_t nflags; /* at most SH_CLI_FLAGS_MAX */
} sh_cli_cmd;

/* A flag table as the .flags and .nflags of an sh_cli_cmd. */
#define SH_CLI_FLAGS(table) (table), sizeof(table) / sizeof((table)[0])

/* The flags that every command on a data dir shares, said once. */
#define SH_CLI_FLAG_DATA_DIR(id)                                                                   \
    {                                                                                              \
        "data-dir", "DIR", (id),                                                                   \
            "data directory: key file and SQLite database (env "                                   \
            "SAFEHOUSE_DATA_DIR; default var)"                                                     \
    }
#define SH_CLI_FLAG_STORE(id)                                                                      \
    {                                                                                              \
        "store", "URL", (id),                                                                      \
            "sqlite:PATH or postgres://... (env SAFEHOUSE_STORE; default the "                     \
            "SQLite file in the data dir)"                                                         \
    }
#define SH_CLI_FLAG_KEY_FILE(id)                                                                   \
    {                                                                                              \
        "key-file", "FILE", (id),                                                                  \
            "read the master key from FILE, never create one (default: SAFEHOUSE_MASTER_KEY, "     \
            "then $CREDENTIALS_DIRECTORY/master.key, then DIR/master.key)"                         \
    }
#define SH_CLI_FLAG_CONFIG                                                                         \
    {                                                                                              \
        "config", "FILE", SH_CLI_CONFIG_ID,                                                        \
            "read flags from FILE, one 'name = value' line each; flags given here win"             \
    }
#define SH_CLI_FLAG_HELP                                                                           \
    {                                                                                              \
        "help", NULL, SH_CLI_HELP_ID, "print this help and exit (also -h)"                         \
    }

/* Called for each flag parsed, with its id and value (NULL for a flag that
 * takes none). Returns 0, or -1 after printing why on stderr. */
typedef int (*sh_cli_flag_fn)(void *ctx, int id, const char *arg);

enum { SH_CLI_ERR = -1, SH_CLI_OK = 0, SH_CLI_HELP = 1 };

/* Parses argv[1..argc) with cmd's flags, calling fn for each. With
 * --config FILE (a flag of cmd's table, SH_CLI_FLAG_CONFIG), FILE's
 * settings come first and the command line's after them; a flag given on
 * the command line drops every line of that name from the file. The file:
 * one setting a line, `name = value` (name as the flag without "--"; the
 * value trimmed, one pair of surrounding double quotes removed), a flag
 * without a value as `name` or `name = true|false`; blank lines and lines
 * starting with '#' are skipped; a flag of another registered command
 * (sh_cli_register) is skipped, any other name is an error. Values stay valid until the process
 * exits (fn may keep pointers to them, as it may to argv). Returns SH_CLI_OK; SH_CLI_HELP after
 * printing the help on stdout (-h, --help); SH_CLI_ERR after printing why on stderr (FILE:LINE: for
 * the file's errors). */
int sh_cli_parse(const sh_cli_cmd *cmd, int argc, char **argv, sh_cli_flag_fn fn, void *ctx);
/* Names every command of the binary (main.c, at start): a config file may
 * then hold settings of other commands, which a command that does not take
 * them skips, so one file serves `serve` and the admin commands alike. A
 * name no registered command takes stays an error. */
void sh_cli_register(const sh_cli_cmd *const *cmds, size_t n);
/* 1 if arg asks for help: "help", "--help" or "-h" (for commands that
 * are groups of subcommands, which have no flag table of their own). */
int sh_cli_is_help(const char *arg);
/* The full help of a command: usage line, summary and every flag. */
void sh_cli_help(FILE *f, const sh_cli_cmd *cmd);
/* The usage line and where to find the rest (after a bad flag). */
void sh_cli_usage(FILE *f, const sh_cli_cmd *cmd);
/* Moves --data-dir, --store, --key-file and --config (and their values)
 * that come before the subcommand's words behind them, so that `safehouse
 * admin --data-dir D revoke --all` means `safehouse admin revoke
 * --data-dir D --all`. Stops at the first other flag. Reorders argv[1..argc) in place; returns 0,
 * or -1 when out of memory (argv untouched). */
int sh_cli_hoist_globals(int argc, char **argv);

#endif
