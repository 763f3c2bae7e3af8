/* clidoc.c - man page and bash completion from the flag tables (see clidoc.h). */
#include "core/clidoc.h"

#include <string.h>

#define GROUPS_MAX 32
#define GROUP_PATH_MAX 64
#define GROUP_WORDS_MAX 256

/* ---- roff ------------------------------------------------------------------------ */

/* Text as one roff line: newlines and the indentation after them become one
 * space, backslashes, hyphens and double quotes are escaped, and a leading '.' or '\''
 * cannot be read as a request. */
static void roff(FILE *f, const char *s)
{
    fputs("\\&", f);
    for (; *s; s++) {
        if (*s == '\n') {
            while (s[1] == ' ')
                s++;
            fputc(' ', f);
        } else if (*s == '\\') {
            fputs("\\e", f);
        } else if (*s == '-') {
            fputs("\\-", f);
        } else if (*s == '"') {
            fputs("\\(dq", f); /* also inside a macro's quoted argument */
        } else {
            fputc(*s, f);
        }
    }
}

static void man_command(FILE *f, const sh_cli_cmd *cmd)
{
    fputs(".SS \"", f);
    roff(f, cmd->name);
    fputs("\"\n.B safehouse ", f);
    roff(f, cmd->name);
    fputc(' ', f);
    roff(f, cmd->synopsis);
    fputs("\n.PP\n", f);
    roff(f, cmd->summary);
    fputc('\n', f);
    for (size_t i = 0; i < cmd->nflags; i++) {
        const sh_cli_flag *fl = &cmd->flags[i];
        /* the tag of .TP is its next line only: flag and value on one */
        fputs(fl->arg ? ".TP\n.BI \"\\-\\-" : ".TP\n.B \\-\\-", f);
        roff(f, fl->name);
        if (fl->arg) {
            fputs(" \" \"", f);
            roff(f, fl->arg);
            fputc('"', f);
        }
        fputc('\n', f);
        roff(f, fl->help);
        fputc('\n', f);
    }
}

/* The sections that are not a command's flags. */
static const char man_tail[] =
    ".SH CONFIGURATION FILE\n"
    "Every command takes \\fB\\-\\-config\\fR \\fIFILE\\fR: one setting a line, "
    "\\fIname\\fR \\fB=\\fR \\fIvalue\\fR, where \\fIname\\fR is one of the command's flags "
    "without the leading \\fB\\-\\-\\fR; a flag without a value is \\fIname\\fR alone or "
    "\\fIname\\fR \\fB= true\\fR|\\fBfalse\\fR. Blank lines and lines starting with "
    "\\fB#\\fR are skipped; one pair of double quotes around a value is removed. Flags on "
    "the command line win over the file (a flag given there drops every line of that name). "
    "An unknown name or a bad value is an error naming the file and line; the command exits "
    "2 and creates nothing.\n"
    ".SH ENVIRONMENT\n"
    ".TP\n.B SAFEHOUSE_DATA_DIR\\fR, \\fBSAFEHOUSE_STORE\\fR, \\fBSAFEHOUSE_LISTEN\\fR, "
    "\\fBSAFEHOUSE_ADMIN_LISTEN\\fR, \\fBSAFEHOUSE_ISSUER\n"
    "defaults of the flags of the same names; the config file and flags override them.\n"
    ".TP\n.B SAFEHOUSE_MASTER_KEY\n"
    "the master key as 64 hex characters (unless \\fB\\-\\-key\\-file\\fR is given).\n"
    ".TP\n.B CREDENTIALS_DIRECTORY\n"
    "set by systemd's \\fBLoadCredential=\\fR: the master key is read from "
    "\\fI$CREDENTIALS_DIRECTORY/master.key\\fR when that file exists.\n"
    ".TP\n.B NOTIFY_SOCKET\\fR, \\fBWATCHDOG_USEC\\fR, \\fBWATCHDOG_PID\n"
    "set by systemd: \\fBserve\\fR sends READY=1 once both listeners are bound and the store "
    "is open, STOPPING=1 when it stops, and WATCHDOG=1 at half the watchdog interval.\n"
    ".SH FILES\n"
    ".TP\n.I /etc/safehouse/safehouse.conf\n"
    "the settings the packaged systemd unit starts \\fBserve\\fR with.\n"
    ".TP\n.I /etc/safehouse/master.key\n"
    "the master key the unit passes as a credential (0600, root).\n"
    ".TP\n.I DIR/master.key\\fR, \\fIDIR/safehouse.db\n"
    "without another key, the key made at first start; the SQLite store.\n"
    ".SH EXIT STATUS\n"
    "0 done (and after \\fB\\-\\-help\\fR), 1 failure (a failed start logs "
    "\\fBstartup_failed\\fR and creates nothing), 2 bad arguments or a bad config file.\n"
    ".SH SEE ALSO\n"
    ".BR systemd.exec (5),\n.BR systemd.service (5),\n.BR sd_notify (3)\n";

void sh_clidoc_man(FILE *f, const sh_clidoc *doc)
{
    fprintf(f, ".TH SAFEHOUSE 1 \"\" \"safehouse %s\" \"User Commands\"\n", doc->version);
    fputs(".SH NAME\nsafehouse \\- smart\\-home cloud backend\n"
          ".SH SYNOPSIS\n.B safehouse\n.I COMMAND\n.RI [ FLAGS ]\n"
          ".SH DESCRIPTION\n"
          "\\fBsafehouse serve\\fR runs the public API and the admin API; the \\fBadmin\\fR "
          "commands work on the same store, also while servers run. Every command takes "
          "\\fB\\-\\-help\\fR, which prints what this page says of it. \\fB\\-\\-data\\-dir\\fR, "
          "\\fB\\-\\-store\\fR, \\fB\\-\\-key\\-file\\fR and \\fB\\-\\-config\\fR may come before "
          "or after the subcommand.\n"
          ".SH COMMANDS\n",
          f);
    for (size_t i = 0; i < doc->ncmds; i++)
        man_command(f, doc->cmds[i]);
    for (size_t i = 0; i < doc->nwords; i++) {
        if (doc->words[i].help == NULL)
            continue;
        fputs(".SS \"", f);
        roff(f, doc->words[i].path[0] ? doc->words[i].path : doc->words[i].word);
        fputs("\"\n", f);
        roff(f, doc->words[i].help);
        fputc('\n', f);
    }
    fputs(man_tail, f);
}

/* ---- bash completion --------------------------------------------------------------- */

/* The words that may follow a path of command words. */
struct group {
    char path[GROUP_PATH_MAX];
    char words[GROUP_WORDS_MAX];
};

static int add_word(struct group *g, size_t *n, const char *path, size_t plen, const char *word,
                    size_t wlen)
{
    size_t i, have;

    for (i = 0; i < *n; i++) {
        if (strlen(g[i].path) == plen && strncmp(g[i].path, path, plen) == 0)
            break;
    }
    if (i == *n) {
        if (*n == GROUPS_MAX || plen >= GROUP_PATH_MAX)
            return -1;
        snprintf(g[i].path, sizeof(g[i].path), "%.*s", (int)plen, path);
        g[i].words[0] = '\0';
        (*n)++;
    }
    /* each word once */
    for (const char *p = g[i].words; *p;) {
        size_t len = strcspn(p, " ");
        if (len == wlen && strncmp(p, word, wlen) == 0)
            return 0;
        p += len;
        p += *p == ' ';
    }
    have = strlen(g[i].words);
    if (have + wlen + 2 > sizeof(g[i].words))
        return -1;
    snprintf(g[i].words + have, sizeof(g[i].words) - have, "%s%.*s", have ? " " : "", (int)wlen,
             word);
    return 0;
}

/* Every prefix of each command's name, with the word that follows it. */
static int command_groups(const sh_clidoc *doc, struct group *g, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < doc->ncmds; i++) {
        const char *name = doc->cmds[i]->name;
        for (const char *w = name; *w;) {
            size_t wlen = strcspn(w, " ");
            size_t plen = w == name ? 0 : (size_t)(w - name - 1);
            if (add_word(g, n, name, plen, w, wlen) != 0)
                return -1;
            w += wlen;
            w += *w == ' ';
        }
    }
    for (size_t i = 0; i < doc->nwords; i++) {
        const sh_clidoc_word *wd = &doc->words[i];
        if (add_word(g, n, wd->path, strlen(wd->path), wd->word, strlen(wd->word)) != 0)
            return -1;
    }
    return 0;
}

/* The flags whose value is a directory (kind 'd'), a file ('f'), or any
 * value ('v': every flag that takes one), as case patterns "--a|--b". */
static void value_flags(FILE *f, const sh_clidoc *doc, char kind)
{
    int first = 1;

    for (size_t i = 0; i < doc->ncmds; i++) {
        for (size_t j = 0; j < doc->cmds[i]->nflags; j++) {
            const sh_cli_flag *fl = &doc->cmds[i]->flags[j];
            int dup = 0;
            if (fl->arg == NULL || (kind == 'd' && strcmp(fl->arg, "DIR") != 0) ||
                (kind == 'f' && strcmp(fl->arg, "FILE") != 0))
                continue;
            /* once per name: the same flag is in many tables */
            for (size_t pi = 0; pi <= i && !dup; pi++) {
                for (size_t pj = 0; pj < doc->cmds[pi]->nflags && !dup; pj++) {
                    const sh_cli_flag *p = &doc->cmds[pi]->flags[pj];
                    if (pi == i && pj == j)
                        break;
                    dup = p->arg != NULL && strcmp(p->name, fl->name) == 0;
                }
            }
            if (!dup)
                fprintf(f, "%s--%s", first ? "" : "|", fl->name);
            first = first && dup;
        }
    }
    if (first)
        fputs("--", f); /* a pattern nobody types alone after a value flag */
}

int sh_clidoc_bash(FILE *f, const sh_clidoc *doc)
{
    struct group g[GROUPS_MAX];
    size_t n;

    if (command_groups(doc, g, &n) != 0)
        return -1;
    fputs("# bash completion for safehouse; written by `safehouse completion bash` from the\n"
          "# flag tables --help prints, so it knows every command and flag of this binary.\n"
          "_safehouse()\n{\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} prev= path= words= i\n"
          "    [ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        case ${COMP_WORDS[i]} in\n        ",
          f);
    value_flags(f, doc, 'v');
    fputs(") ((i++)) ;;\n"
          "        -*) ;;\n"
          "        *) path=\"${path:+$path }${COMP_WORDS[i]}\" ;;\n"
          "        esac\n    done\n    case $prev in\n    ",
          f);
    value_flags(f, doc, 'd');
    fputs(") COMPREPLY=($(compgen -d -- \"$cur\")); return 0 ;;\n    ", f);
    value_flags(f, doc, 'f');
    fputs(") COMPREPLY=($(compgen -f -- \"$cur\")); return 0 ;;\n    ", f);
    value_flags(f, doc, 'v');
    fputs(") COMPREPLY=(); return 0 ;;\n    esac\n    case $path in\n", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "    \"%s\") words=\"%s\" ;;\n", g[i].path, g[i].words);
    for (size_t i = 0; i < doc->ncmds; i++) {
        fprintf(f, "    \"%s\") words=\"", doc->cmds[i]->name);
        for (size_t j = 0; j < doc->cmds[i]->nflags; j++)
            fprintf(f, "%s--%s", j ? " " : "", doc->cmds[i]->flags[j].name);
        fputs("\" ;;\n", f);
    }
    fputs("    esac\n"
          "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "}\n"
          "complete -F _safehouse safehouse\n",
          f);
    return 0;
}
