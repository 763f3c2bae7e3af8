/* cli.c - flag tables to getopt, config files, help text and global-flag hoisting (see cli.h). */
#include "core/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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

/* A setting read from the config file: which flag (index in the table),
 * its value (NULL for a flag without one) and its line. */
struct setting {
    size_t flag;
    const char *value;
    unsigned line;
};

/* Config texts live until exit: the commands keep pointers into them. */
struct config_text {
    struct config_text *next;
    size_t len;
    char text[];
};
static struct config_text *config_texts;

/* every command of the binary, for names a file may hold (sh_cli_register) */
static const sh_cli_cmd *const *known_cmds;
static size_t known_count;

void sh_cli_register(const sh_cli_cmd *const *cmds, size_t n)
{
    known_cmds = cmds;
    known_count = n;
}

static void free_config_texts(void)
{
    while (config_texts != NULL) {
        struct config_text *t = config_texts;
        config_texts = t->next;
        /* a config file may hold a password (seed --password, a store URL) */
        sodium_memzero(t->text, t->len);
        free(t);
    }
}

/* Reads FILE whole into a config_text kept until exit; NULL after saying why. */
static char *read_config(const char *path)
{
    struct config_text *t;
    FILE *f = fopen(path, "re");
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "safehouse: --config %s: %s\n", path, strerror(errno));
        return NULL;
    }
    t = malloc(sizeof(*t) + SH_CLI_CONFIG_MAX_BYTES + 1);
    if (t == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(t->text, 1, SH_CLI_CONFIG_MAX_BYTES + 1, f);
    if (ferror(f) || n > SH_CLI_CONFIG_MAX_BYTES || memchr(t->text, '\0', n) != NULL) {
        fprintf(stderr, "safehouse: --config %s: %s\n", path,
                ferror(f) ? "cannot be read" : "not a text file of at most 64 KiB");
        fclose(f);
        free(t);
        return NULL;
    }
    fclose(f);
    t->text[n] = '\0';
    t->len = n;
    if (config_texts == NULL)
        atexit(free_config_texts);
    t->next = config_texts;
    config_texts = t;
    return t->text;
}

static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* The table index of the flag a file may set by this name, or -1. */
static int file_flag(const sh_cli_cmd *cmd, const char *name)
{
    for (size_t i = 0; i < cmd->nflags; i++) {
        int id = cmd->flags[i].id;
        if (id != SH_CLI_HELP_ID && id != SH_CLI_CONFIG_ID && strcmp(cmd->flags[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* 1 if another command of the binary has a flag of this name. */
static int known_elsewhere(const char *name)
{
    for (size_t c = 0; c < known_count; c++) {
        if (file_flag(known_cmds[c], name) >= 0)
            return 1;
    }
    return 0;
}

/* The value of a flag without one: 1 to apply, 0 to skip, -1 if neither. */
static int switch_value(const char *v)
{
    if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0)
        return 1;
    if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0)
        return 0;
    return -1;
}

/* One line of the file into *out; 1 if it holds a setting, 0 if not, -1
 * after saying why. */
static int parse_line(const sh_cli_cmd *cmd, const char *path, unsigned lineno, char *line,
                      struct setting *out)
{
    char *eq, *name, *value = NULL;
    size_t vlen;
    int idx;

    line = trim(line);
    if (*line == '\0' || *line == '#')
        return 0;
    if ((eq = strchr(line, '=')) != NULL) {
        *eq = '\0';
        value = trim(eq + 1);
        vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
    }
    name = trim(line);
    if ((idx = file_flag(cmd, name)) < 0) {
        if (known_elsewhere(name))
            return 0; /* another command's setting */
        fprintf(stderr, "safehouse: %s:%u: '%s' is not a flag of 'safehouse %s' (see --help)\n",
                path, lineno, name, cmd->name);
        return -1;
    }
    out->flag = (size_t)idx;
    out->line = lineno;
    out->value = value;
    if (cmd->flags[idx].arg == NULL) {
        int on = switch_value(value);
        if (on < 0) {
            fprintf(stderr, "safehouse: %s:%u: %s takes no value, or true or false\n", path, lineno,
                    name);
            return -1;
        }
        out->value = NULL;
        return on;
    }
    if (value == NULL || *value == '\0') {
        fprintf(stderr, "safehouse: %s:%u: %s needs a value (%s = %s)\n", path, lineno, name, name,
                cmd->flags[idx].arg);
        return -1;
    }
    return 1;
}

/* Reads path's settings into *out (malloc'd, *n of them); -1 after saying why. */
static int load_settings(const sh_cli_cmd *cmd, const char *path, struct setting **out, size_t *n)
{
    char *text = read_config(path), *line, *next;
    size_t cap = 1;
    unsigned lineno = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (text == NULL)
        return -1;
    for (const char *p = text; *p; p++)
        cap += *p == '\n';
    if ((*out = calloc(cap, sizeof(**out))) == NULL)
        return -1;
    for (line = text; line != NULL; line = next) {
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        rc = parse_line(cmd, path, ++lineno, line, &(*out)[*n]);
        if (rc < 0)
            return -1;
        *n += (size_t)rc;
    }
    return 0;
}

/* Applies the file's settings but those the command line gives. */
static int apply_settings(const sh_cli_cmd *cmd, const char *path, const struct setting *set,
                          size_t n, const unsigned char *given, sh_cli_flag_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const sh_cli_flag *fl = &cmd->flags[set[i].flag];
        if (given[set[i].flag])
            continue;
        if (fn(ctx, fl->id, set[i].value) != 0) {
            fprintf(stderr, "safehouse: %s:%u: bad value for %s\n", path, set[i].line, fl->name);
            return -1;
        }
    }
    return 0;
}

/* A flag of the command line, as getopt found it. */
struct given_flag {
    int id;
    const char *arg;
};

/* Runs getopt over argv into out (at most argc entries), noting in given
 * which table entries appeared and in *config the last --config FILE. */
static int scan_argv(const sh_cli_cmd *cmd, int argc, char **argv, struct given_flag *out,
                     size_t *n, unsigned char *given, const char **config)
{
    struct option opts[SH_CLI_FLAGS_MAX + 1];
    int opt, idx;

    if (options(cmd, opts) != 0)
        return SH_CLI_ERR;
    optind = 1;
    opterr = 1;
    while ((idx = -1, opt = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        if (opt == SH_CLI_HELP_ID) {
            sh_cli_help(stdout, cmd);
            return SH_CLI_HELP;
        }
        if (opt == '?' || opt == ':')
            return SH_CLI_ERR;
        if (idx >= 0)
            given[idx] = 1;
        if (opt == SH_CLI_CONFIG_ID)
            *config = optarg;
        else
            out[(*n)++] = (struct given_flag){opt, optarg};
    }
    if (optind < argc) {
        fprintf(stderr, "safehouse: unexpected argument '%s'\n", argv[optind]);
        return SH_CLI_ERR;
    }
    return SH_CLI_OK;
}

int sh_cli_parse(const sh_cli_cmd *cmd, int argc, char **argv, sh_cli_flag_fn fn, void *ctx)
{
    unsigned char given[SH_CLI_FLAGS_MAX] = {0};
    struct given_flag *flags = calloc((size_t)argc + 1, sizeof(*flags));
    struct setting *set = NULL;
    const char *config = NULL;
    size_t nflags = 0, nset = 0;
    int code;

    if (flags == NULL)
        return SH_CLI_ERR;
    code = scan_argv(cmd, argc, argv, flags, &nflags, given, &config);
    if (code != SH_CLI_OK)
        goto out;
    /* a bad file is its own error, with its line: no usage after it */
    if (config != NULL && (load_settings(cmd, config, &set, &nset) != 0 ||
                           apply_settings(cmd, config, set, nset, given, fn, ctx) != 0)) {
        free(set);
        free(flags);
        return SH_CLI_ERR;
    }
    for (size_t i = 0; i < nflags && code == SH_CLI_OK; i++)
        code = fn(ctx, flags[i].id, flags[i].arg) == 0 ? SH_CLI_OK : SH_CLI_ERR;
out:
    free(set);
    free(flags);
    if (code == SH_CLI_ERR)
        sh_cli_usage(stderr, cmd);
    return code;
}

/* Length of the global flag at argv[i] (1: "--store=URL", 2: "--store
 * URL"), or 0 when argv[i] is not one. */
static int global_at(int argc, char **argv, int i)
{
    static const char *const globals[] = {"--data-dir", "--store", "--key-file", "--config"};

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
