/*
 * app.h - the composition root: opens the data dir (key file, store),
 * builds the domain context, and runs the public and admin listeners.
 * Also used by the admin CLI, which opens the same data dir without
 * listening.
 */
#ifndef SH_APP_H
#define SH_APP_H

#include <pthread.h>

#include "auth/auth.h"
#include "core/config.h"
#include "core/workpool.h"
#include "http/server.h"
#include "mail/sender.h"
#include "oauth/oauth.h"

typedef struct sh_app {
    sh_config cfg;
    sh_keyring *kr;
    sh_store *store;
    sh_revocation *rev;
    sh_auth auth;
    sh_oauth oauth; /* account linking: issuer, lifetimes */
    sh_workpool *hash_pool;
    sh_workpool *write_pool;
    sh_limits *limits;
    sh_mail_sender *mailer;
    sh_server *api;
    sh_server *admin;
    sh_tls *tls; /* NULL: plain HTTP */
    pthread_t poller;
    int poller_started;
    volatile int stopping;
} sh_app;

/* Loads the TLS certificate and key when cfg names them (before anything
 * is created: a start that fails on them leaves nothing), then opens the
 * data dir: creates it (0700), the master key (0600) and the database on
 * first use; loads revocation rules. */
sh_status sh_app_open(sh_app *app, const sh_config *cfg);
/* Closes everything sh_app_open and sh_app_serve opened. */
void sh_app_close(sh_app *app);
/* Starts what every request may need besides listeners and worker pools:
 * the password cost and the dummy hash, TOTP, SMTP, the OAuth client cache,
 * rate limits and the mail sender. sh_app_serve calls it; in-process
 * callers of the pipeline (fuzz drivers, tests) call it after sh_app_open
 * so that they run against the same app. Undo with sh_app_stop_services. */
sh_status sh_app_start_services(sh_app *app);
void sh_app_stop_services(sh_app *app);
/* Runs `safehouse serve` until SIGTERM/SIGINT; SIGHUP reloads the TLS
 * certificate and key. Returns a process exit code. */
int sh_app_serve(sh_app *app);

/* Admin token: makes a new one, stores its hash (replacing any old one) and
 * writes the text into out. */
sh_status sh_app_admin_token_new(sh_app *app, char *out, size_t cap);
/* The same, only when the store holds no admin token yet; SH_ERR_CONFLICT
 * otherwise (one node of several starting at once gets it). */
sh_status sh_app_admin_token_first(sh_app *app, char *out, size_t cap);
/* Checks a presented admin token. */
sh_status sh_app_admin_token_check(sh_app *app, const char *text, size_t len);
/* Scrape token (GET /metrics and nothing else): makes a new one, replacing
 * any old one, and writes the text into out. */
sh_status sh_app_scrape_token_new(sh_app *app, char *out, size_t cap);

/* The listeners' authentication (sh_authenticate_fn; arg is the sh_app):
 * app access tokens, the admin token, device tokens, relay credentials.
 * Exported so in-process callers of the pipeline (fuzz drivers, tests)
 * authenticate exactly as the server does. */
sh_status sh_app_authenticate(void *arg, enum sh_auth_kind kind, sh_req *r);

/* Route tables (api/routes.c, admin/admin_routes.c). */
extern const struct sh_route sh_api_routes[];
extern const size_t sh_api_routes_count;
extern const struct sh_route sh_admin_routes[];
extern const size_t sh_admin_routes_count;

#endif
