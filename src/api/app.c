/*
 * app.c - start-up, the revocation poller, signal handling and shut-down.
 *
 * Signals: the main thread waits for them (every thread blocks them).
 * SIGTERM and SIGINT stop; SIGHUP reloads the TLS certificate and key (a
 * failed reload keeps the old ones) and is otherwise ignored.
 *
 * Shut-down order matters: stop accepting, let the workers finish the jobs
 * they hold (they resume their connections), give in-flight requests a grace
 * period, stop the daemons, then close the store. Nothing acknowledged is
 * lost because every acknowledged write was committed before its answer.
 */
#include "api/app.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "api/route_table.h"
#include "auth/profile_cache.h"
#include "auth/sessions.h"
#include "auth/stepup.h"
#include "core/clock.h"
#include "devices/devices.h"
#include "devices/heartbeats.h"
#include "devices/streams.h"
#include "core/log.h"
#include "core/sdnotify.h"
#include "crypto/hash.h"
#include "crypto/password.h"
#include "crypto/token.h"
#include "crypto/totp.h"
#include "mail/smtp.h"
#include "oauth/client_cache.h"
#include "oauth/clients.h"
#include "oauth/grants.h"
#include "store/group_commit.h"

#define POLL_INTERVAL_MS 250
#define SHUTDOWN_GRACE_MS 2000
/* Argon2id workers run at a lower priority than the event threads: under a
 * login flood the cores go to answering everyone else first (make bench,
 * "login_flood"). */
#define HASH_WORKER_NICE 10
#define ADMIN_TOKEN_KEY "admin_token_hash"
#define ADMIN_DOMAIN "admin"

/* *created says whether this call made the directory. */
static sh_status make_data_dir(const char *dir, int *created)
{
    struct stat st;

    *created = mkdir(dir, 0700) == 0;
    if (!*created && errno != EEXIST) {
        sh_log_event(SH_LOG_ERROR, "data_dir_create_failed", NULL, NULL);
        return SH_ERR_IO;
    }
    if (stat(dir, &st) == 0 && (st.st_mode & 077) != 0)
        sh_log_event(SH_LOG_WARN, "data_dir_mode_too_open", NULL, NULL);
    return SH_OK;
}

/* The key the operator provided: --key-file, else systemd's credential
 * (unless SAFEHOUSE_MASTER_KEY is set, which comes first). *path is ""
 * when the key is the environment's or the data dir's. */
static void provided_key(const sh_config *cfg, char *path, size_t cap)
{
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    const char *env = getenv("SAFEHOUSE_MASTER_KEY");

    path[0] = '\0';
    if (cfg->key_file[0] != '\0')
        snprintf(path, cap, "%s", cfg->key_file);
    else if ((env == NULL || *env == '\0') && creds != NULL && *creds != '\0') {
        int n = snprintf(path, cap, "%s/master.key", creds);
        if (n < 0 || (size_t)n >= cap || access(path, F_OK) != 0)
            path[0] = '\0';
    }
}

/* Opens the keyring from the provided key, the environment or an existing
 * DIR/master.key, touching nothing. *deferred is set when none of them
 * exists: the key file is made only once the store is open. */
static sh_status open_keys_early(sh_app *app, const sh_config *cfg, int *deferred)
{
    char path[SH_CONFIG_PATH_MAX + 32];
    const char *env = getenv("SAFEHOUSE_MASTER_KEY");
    int created = 0;

    *deferred = 0;
    provided_key(cfg, path, sizeof(path));
    if (path[0] != '\0')
        return sh_keyring_open_file(path, &app->kr);
    if (sh_config_path(cfg, "master.key", path, sizeof(path)) != 0)
        return SH_ERR_IO;
    if ((env == NULL || *env == '\0') && access(path, F_OK) != 0) {
        *deferred = 1;
        return SH_OK;
    }
    return sh_keyring_open(path, &app->kr, &created);
}

static sh_status create_data_dir_key(sh_app *app, const sh_config *cfg)
{
    char path[SH_CONFIG_PATH_MAX + 32];
    int created = 0;

    if (sh_config_path(cfg, "master.key", path, sizeof(path)) != 0)
        return SH_ERR_IO;
    if (sh_keyring_open(path, &app->kr, &created) != SH_OK)
        return SH_ERR_IO;
    if (created)
        sh_log_event(SH_LOG_INFO, "master_key_created", NULL, NULL);
    return SH_OK;
}

/* The store, with the data dir it may need: a PostgreSQL store is opened
 * before the data dir is made, and an SQLite one that fails takes the
 * directory this call made with it, so a failed start leaves nothing. */
static sh_status open_store(sh_app *app, const sh_config *cfg)
{
    int in_dir = strcmp(sh_store_url_backend(cfg->store), "postgres") != 0;
    int made = 0;
    sh_status rc;

    if (in_dir && (rc = make_data_dir(cfg->data_dir, &made)) != SH_OK)
        return rc;
    rc = sh_store_open(cfg->store, cfg->data_dir, &app->store);
    if (rc != SH_OK) {
        /* never the URL: it may carry a password */
        sh_log_event(SH_LOG_ERROR, "store_unavailable", "backend",
                     sh_store_url_backend(cfg->store));
        if (made)
            (void)rmdir(cfg->data_dir);
        return rc;
    }
    return in_dir ? SH_OK : make_data_dir(cfg->data_dir, &made);
}

/* The issuer is what partners are configured with: --issuer (the public
 * https URL behind a TLS proxy), else http(s)://<listen>. */
static void init_oauth(sh_app *app, const sh_config *cfg)
{
    sh_oauth *o = &app->oauth;
    size_t n;

    o->auth = &app->auth;
    if (cfg->issuer[0] != '\0')
        snprintf(o->issuer, sizeof(o->issuer), "%s", cfg->issuer);
    else
        snprintf(o->issuer, sizeof(o->issuer), "%s://%s", cfg->tls_cert[0] ? "https" : "http",
                 cfg->listen);
    n = strlen(o->issuer);
    while (n > 0 && o->issuer[n - 1] == '/')
        o->issuer[--n] = '\0';
    o->access_ttl_us = cfg->oauth_access_ttl_s * SH_USEC;
    o->code_ttl_us = cfg->oauth_code_ttl_s * SH_USEC;
    o->cookie_secure = strncmp(o->issuer, "https://", 8) == 0;
}

sh_status sh_app_open(sh_app *app, const sh_config *cfg)
{
    sh_status rc;
    int deferred = 0;

    memset(app, 0, sizeof(*app));
    app->cfg = *cfg;
    if (sodium_init() < 0)
        return SH_ERR_INTERNAL;
    /* the TLS files first: a bad certificate or key creates nothing either */
    if (cfg->tls_cert[0] != '\0' && (rc = sh_tls_open(cfg->tls_cert, cfg->tls_key, &app->tls)))
        return rc;
    /* a bad key fails before anything is made; a new one is written last */
    if ((rc = open_keys_early(app, cfg, &deferred)) == SH_OK) {
        if ((rc = open_store(app, cfg)) != SH_OK)
            return rc;
        if (deferred)
            rc = create_data_dir_key(app, cfg);
    }
    if (rc != SH_OK) {
        sh_log_event(SH_LOG_ERROR, "master_key_unavailable", NULL, NULL);
        return rc;
    }
    app->rev = sh_revocation_new();
    if (app->rev == NULL)
        return SH_ERR_NOMEM;
    if ((rc = sh_revocation_sync(app->store, app->rev)) != SH_OK)
        return rc;
    app->auth.store = app->store;
    app->auth.kr = app->kr;
    app->auth.rev = app->rev;
    app->auth.access_ttl_us = cfg->access_ttl_s * SH_USEC;
    app->auth.stepup_window_us = cfg->reauth_window_s * SH_USEC;
    init_oauth(app, cfg);
    return SH_OK;
}

void sh_app_close(sh_app *app)
{
    sh_store_close(app->store);
    sh_revocation_free(app->rev);
    sh_keyring_free(app->kr);
    sh_tls_free(app->tls);
    memset(app, 0, sizeof(*app));
}

/* ---- admin and scrape tokens -------------------------------------------- */

/* An operator credential: one at a time, its keyed hash under a meta key. */
struct op_cred {
    const char *prefix, *key, *domain;
};
static const struct op_cred admin_cred = {SH_TOKEN_ADMIN, ADMIN_TOKEN_KEY, ADMIN_DOMAIN};
static const struct op_cred scrape_cred = {SH_TOKEN_SCRAPE, "scrape_token_hash", "scrape"};

/* first: only if there is none yet (SH_ERR_CONFLICT otherwise), so that of
 * several nodes starting at once on an empty store one prints it. */
static sh_status cred_new(sh_app *app, const struct op_cred *c, int first, char *out, size_t cap)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], hash[SH_HASH_LEN];
    char text[SH_TOKEN_MAX];
    sh_status rc;

    sh_token_opaque_new(c->prefix, secret, text);
    sh_hash_secret(app->kr, c->domain, secret, sizeof(secret), hash);
    sodium_memzero(secret, sizeof(secret));
    if (first)
        rc = sh_store_do(app->store, core, meta_add, c->key, hash, sizeof(hash));
    else
        rc = sh_store_do(app->store, core, meta_put, c->key, hash, sizeof(hash));
    if (rc == SH_OK)
        snprintf(out, cap, "%s", text);
    sodium_memzero(text, sizeof(text));
    return rc;
}

static sh_status cred_check(sh_app *app, const struct op_cred *c, const char *text, size_t len)
{
    uint8_t secret[SH_TOKEN_SECRET_LEN], want[SH_HASH_LEN], got[SH_HASH_LEN];
    size_t n = 0;
    sh_status rc;

    if (sh_token_opaque_parse(c->prefix, text, len, secret) != SH_OK)
        return SH_ERR_INVALID_TOKEN;
    sh_hash_secret(app->kr, c->domain, secret, sizeof(secret), got);
    sodium_memzero(secret, sizeof(secret));
    rc = sh_store_do(app->store, core, meta_get, c->key, want, sizeof(want), &n);
    if (rc != SH_OK)
        return rc == SH_ERR_NOT_FOUND ? SH_ERR_INVALID_TOKEN : rc;
    if (n != SH_HASH_LEN || crypto_verify_32(want, got) != 0)
        return SH_ERR_INVALID_TOKEN;
    return SH_OK;
}

sh_status sh_app_admin_token_new(sh_app *app, char *out, size_t cap)
{
    return cred_new(app, &admin_cred, 0, out, cap);
}

sh_status sh_app_admin_token_first(sh_app *app, char *out, size_t cap)
{
    return cred_new(app, &admin_cred, 1, out, cap);
}

sh_status sh_app_admin_token_check(sh_app *app, const char *text, size_t len)
{
    return cred_check(app, &admin_cred, text, len);
}

sh_status sh_app_scrape_token_new(sh_app *app, char *out, size_t cap)
{
    return cred_new(app, &scrape_cred, 0, out, cap);
}

/* ---- serving -------------------------------------------------------------- */

static int is_partner_token(const sh_req *r)
{
    size_t n = strlen(SH_TOKEN_OAUTH_ACCESS);

    return r->bearer_len > n && strncmp(r->bearer, SH_TOKEN_OAUTH_ACCESS, n) == 0;
}

/* A partner token: verified from memory, then the route table's partner
 * column decides: 0 means never (403), else the token needs one of the
 * scopes it lists (403 insufficient_scope). */
static sh_status authenticate_partner(sh_app *app, sh_req *r)
{
    sh_status rc = sh_oauth_authenticate(&app->oauth, r->bearer, r->bearer_len, &r->principal);

    if (rc != SH_OK)
        return rc;
    if (r->route->partner_scope == 0)
        return sh_req_fail(r, SH_ERR_FORBIDDEN, "partner tokens cannot call this route");
    if ((r->principal.scopes & r->route->partner_scope) == 0)
        return sh_req_fail(r, SH_ERR_INSUFFICIENT_SCOPE,
                           "the token was not granted the scope this route needs");
    return SH_OK;
}

/* IFTTT sends its service key in a header of its own, never a bearer. */
static sh_status authenticate_service_key(sh_app *app, sh_req *r)
{
    const char *key = sh_req_header(r, "IFTTT-Service-Key");

    if (key == NULL)
        return sh_req_fail(r, SH_ERR_UNAUTHENTICATED, "IFTTT-Service-Key header is required");
    if (sh_oauth_service_key_check(&app->oauth, key, strlen(key)) != SH_OK)
        return sh_req_fail(r, SH_ERR_INVALID_TOKEN, "unknown IFTTT-Service-Key");
    return SH_OK;
}

/* The admin token holds every role; a scrape token only SH_ADMIN_SCRAPE. */
static sh_status authenticate_admin(sh_app *app, sh_req *r)
{
    size_t n = strlen(SH_TOKEN_SCRAPE);
    int scrape = r->bearer_len > n && strncmp(r->bearer, SH_TOKEN_SCRAPE, n) == 0;
    sh_status rc = cred_check(app, scrape ? &scrape_cred : &admin_cred, r->bearer, r->bearer_len);

    if (rc != SH_OK)
        return rc;
    r->principal.kind = SH_PRINCIPAL_ADMIN;
    r->principal.roles = scrape ? SH_ADMIN_SCRAPE : SH_ADMIN_ALL;
    return SH_OK;
}

static sh_status authenticate(sh_app *app, enum sh_auth_kind kind, sh_req *r)
{
    if (kind == SH_AUTH_SERVICE_KEY)
        return authenticate_service_key(app, r);
    if (r->bearer == NULL)
        return SH_ERR_UNAUTHENTICATED;
    switch (kind) {
    case SH_AUTH_USER:
        if (is_partner_token(r))
            return authenticate_partner(app, r);
        return sh_session_authenticate(&app->auth, r->bearer, r->bearer_len, &r->principal);
    case SH_AUTH_PARTNER:
        if (!is_partner_token(r))
            return SH_ERR_INVALID_TOKEN;
        return authenticate_partner(app, r);
    case SH_AUTH_ADMIN:
        return authenticate_admin(app, r);
    case SH_AUTH_DEVICE:
        return sh_device_authenticate(&app->auth, r->bearer, r->bearer_len, &r->principal);
    case SH_AUTH_RELAY:
        return sh_relay_authenticate(&app->auth, r->bearer, r->bearer_len, &r->principal);
    default:
        return SH_OK;
    }
}

static enum sh_metrics_token token_kind(enum sh_auth_kind kind, const sh_req *r)
{
    switch (kind) {
    case SH_AUTH_ADMIN:
        return SH_METRICS_TOKEN_ADMIN;
    case SH_AUTH_DEVICE:
        return SH_METRICS_TOKEN_DEVICE;
    case SH_AUTH_RELAY:
        return SH_METRICS_TOKEN_RELAY;
    case SH_AUTH_SERVICE_KEY:
        return SH_METRICS_TOKEN_SERVICE_KEY;
    default:
        return is_partner_token(r) ? SH_METRICS_TOKEN_PARTNER : SH_METRICS_TOKEN_ACCESS;
    }
}

sh_status sh_app_authenticate(void *arg, enum sh_auth_kind kind, sh_req *r)
{
    sh_status rc = authenticate(arg, kind, r);

    /* a missing credential is no verification; a refused scope is a valid token */
    if (rc == SH_ERR_INVALID_TOKEN)
        sh_metrics_token(token_kind(kind, r), 0);
    else if (rc == SH_OK || rc == SH_ERR_FORBIDDEN || rc == SH_ERR_INSUFFICIENT_SCOPE)
        sh_metrics_token(token_kind(kind, r), 1);
    return rc;
}

/* The caller's role on the device in {id}: none is 404, as if the device
 * did not exist (P6: no probing for ids), a weaker one 403. */
static sh_status check_device_role(sh_app *app, sh_req *r)
{
    int role = SH_ROLE_NONE;
    int64_t generation = 0;
    sh_id id;
    sh_status rc = sh_req_param_id(r, 0, &id);

    if (rc != SH_OK)
        return rc;
    rc = sh_device_role(&app->auth, &r->principal, &id, &role, &generation);
    if (rc == SH_ERR_NOT_FOUND || (rc == SH_OK && role == SH_ROLE_NONE))
        return SH_ERR_NOT_FOUND;
    if (rc != SH_OK)
        return rc;
    if (role > r->route->device_role)
        return sh_req_fail(r, SH_ERR_FORBIDDEN, "your role on this device does not allow this");
    return SH_OK;
}

static sh_status check_stepup(sh_app *app, sh_req *r)
{
    int retry = 0;
    sh_status rc;

    if (r->route->stepup == SH_STEPUP_PROOF)
        rc = sh_stepup_require_proof(&app->auth, &r->principal, r->body, &retry);
    else
        rc = sh_stepup_check(&app->auth, &r->principal, r->body, &retry);
    if (rc == SH_ERR_REAUTH)
        return sh_req_fail(r, rc,
                           r->route->stepup == SH_STEPUP_PROOF
                               ? "send 'password' (and 'code' or 'recovery_code' with two-factor "
                                 "login on)"
                               : "log in again, or send 'password' (and 'code' or "
                                 "'recovery_code' with two-factor login on)");
    return sh_api_limited(r, rc, retry);
}

/* The route table's device role and step-up (sh_authorize_fn). */
static sh_status authorize(void *arg, sh_req *r)
{
    sh_app *app = arg;
    sh_status rc = SH_OK;

    if (r->route->device_role != 0)
        rc = check_device_role(app, r);
    if (rc == SH_OK && r->route->stepup != SH_STEPUP_NONE)
        rc = check_stepup(app, r);
    return rc;
}

static sh_status admit(void *arg, sh_req *r)
{
    sh_app *app = arg;
    uint8_t key[SH_PEER_LEN];
    size_t len;

    if (!r->peer_known)
        return SH_OK;
    len = sh_req_peer_key(r, key);
    return sh_limits_address(app->limits, (enum sh_limit_kind)r->route->limit, key, len,
                             &r->retry_after);
}

/* Another node changed a user's account view: forget it here too. */
static void user_changed_elsewhere(void *ctx, const sh_id *user)
{
    sh_app *app = ctx;

    sh_profile_cache_drop(app->auth.profiles, user);
}

static void *poll_rules(void *arg)
{
    sh_app *app = arg;

    while (!app->stopping) {
        /* wakes early when another node announces a rule or a changed
         * user (PostgreSQL); the poll below is the guarantee */
        (void)sh_store_do(app->store, core, changes_wait, POLL_INTERVAL_MS, user_changed_elsewhere,
                          app);
        if (sh_revocation_sync(app->store, app->rev) != SH_OK)
            sh_log_event(SH_LOG_WARN, "revocation_sync_failed", NULL, NULL);
    }
    return NULL;
}

/* A table whose rows contradict each other is a build defect: refuse it
 * before anything listens. */
static sh_status check_tables(void)
{
    char why[SH_ROUTE_WHY_MAX];

    if (sh_route_table_check(sh_api_routes, sh_api_routes_count, why, sizeof(why)) == SH_OK &&
        sh_route_table_check(sh_admin_routes, sh_admin_routes_count, why, sizeof(why)) == SH_OK)
        return SH_OK;
    sh_log_event(SH_LOG_ERROR, "route_table_invalid", "detail", why);
    return SH_ERR_INTERNAL;
}

static sh_status start_listeners(sh_app *app)
{
    struct sh_listener_cfg api = {
        .name = "api",
        .listen = app->cfg.listen,
        .routes = sh_api_routes,
        .nroutes = sh_api_routes_count,
        .app = app,
        .authenticate = sh_app_authenticate,
        .admit = admit,
        .authorize = authorize,
        .threads = app->cfg.threads,
        .hash_pool = app->hash_pool,
        .write_pool = app->write_pool,
        .blocking_store = app->store->blocking,
        .metrics = SH_METRICS_API,
        .tls = app->tls, /* the same certificate on both listeners */
    };
    struct sh_listener_cfg admin = api;
    sh_status rc;

    admin.name = "admin";
    admin.listen = app->cfg.admin_listen;
    admin.routes = sh_admin_routes;
    admin.nroutes = sh_admin_routes_count;
    admin.threads = 1;
    admin.metrics = SH_METRICS_ADMIN;
    if ((rc = check_tables()) != SH_OK)
        return rc;
    sh_metrics_set_routes(SH_METRICS_API, sh_api_routes, sh_api_routes_count);
    sh_metrics_set_routes(SH_METRICS_ADMIN, sh_admin_routes, sh_admin_routes_count);
    if ((rc = sh_server_start(&api, &app->api)) != SH_OK)
        return rc;
    return sh_server_start(&admin, &app->admin);
}

static void print_first_admin_token(sh_app *app)
{
    char token[SH_TOKEN_MAX];
    sh_status rc = sh_app_admin_token_first(app, token, sizeof(token));

    if (rc == SH_ERR_CONFLICT) /* made before, or by a node starting beside us */
        return;
    if (rc != SH_OK) {
        sh_log_event(SH_LOG_ERROR, "admin_token_create_failed", NULL, NULL);
        return;
    }
    /* stdout, once: the log (stderr) never carries secrets */
    printf("admin token: %s\n", token);
    fflush(stdout);
    sodium_memzero(token, sizeof(token));
    sh_log_event(SH_LOG_INFO, "admin_token_created", NULL, NULL);
}

static void handled_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

/* Returns at SIGTERM or SIGINT; answers SIGHUP on the way (a TLS reload).
 * With systemd's watchdog on, it wakes at half the interval to ping it: a
 * main thread stuck elsewhere stops the pings and systemd restarts the
 * service. */
static void wait_for_stop(sh_app *app)
{
    int64_t half = sh_sdnotify_watchdog_usec() / 2;
    struct timespec ts = {(time_t)(half / SH_USEC), (long)(half % SH_USEC) * 1000};
    sigset_t set;
    int sig = 0;

    handled_signals(&set);
    for (;;) {
        if (half > 0) {
            sig = sigtimedwait(&set, NULL, &ts);
            if (sig < 0 && errno == EAGAIN)
                (void)sh_sdnotify("WATCHDOG=1");
        } else if (sigwait(&set, &sig) != 0) {
            sig = -1;
        }
        if (sig == SIGTERM || sig == SIGINT)
            return;
        if (sig != SIGHUP)
            continue;
        if (app->tls == NULL)
            sh_log_event(SH_LOG_INFO, "sighup_ignored", "reason", "no_tls");
        else
            (void)sh_tls_reload(app->tls); /* logs either way */
    }
}

static sh_status start_mailer(sh_app *app)
{
    char spool[SH_CONFIG_PATH_MAX + 32];
    struct sh_mail_cfg mc = {app->cfg.smtp_url, app->cfg.mail_from, spool};

    if (app->cfg.mail_spool[0] != '\0')
        snprintf(spool, sizeof(spool), "%s", app->cfg.mail_spool);
    else if (sh_config_path(&app->cfg, "mail-spool", spool, sizeof(spool)) != 0)
        return SH_ERR_IO;
    return sh_mail_sender_start(&app->auth, &mc, &app->mailer);
}

sh_status sh_app_start_services(sh_app *app)
{
    sh_password_set_cost(app->cfg.argon2_ops, app->cfg.argon2_mem_kib);
    if (app->cfg.argon2_ops < 2 || app->cfg.argon2_mem_kib < (size_t)19 * 1024)
        sh_log_event(SH_LOG_WARN, "argon2_cost_below_owasp", NULL, NULL);
    if (sh_password_init() != SH_OK || sh_totp_init() != SH_OK || sh_smtp_init() != SH_OK)
        return SH_ERR_INTERNAL;
    if ((app->oauth.clients = sh_client_cache_new()) == NULL ||
        (app->auth.profiles = sh_profile_cache_new()) == NULL)
        return SH_ERR_NOMEM;
    if (sh_limits_new(app->cfg.address_limits, app->store, &app->limits) != SH_OK)
        return SH_ERR_NOMEM;
    app->auth.limits = app->limits;
    if (!app->cfg.address_limits)
        sh_log_event(SH_LOG_WARN, "address_limits_off", NULL, NULL);
    return start_mailer(app);
}

void sh_app_stop_services(sh_app *app)
{
    sh_mail_sender_stop(app->mailer);
    app->mailer = NULL;
    app->auth.limits = NULL;
    sh_limits_free(app->limits);
    app->limits = NULL;
    sh_smtp_cleanup();
    sh_totp_cleanup();
    sh_client_cache_free(app->oauth.clients);
    app->oauth.clients = NULL;
    sh_profile_cache_free(app->auth.profiles);
    app->auth.profiles = NULL;
}

int sh_app_serve(sh_app *app)
{
    sigset_t set;
    int code = 1;

    /* Block our signals in every thread; the main thread waits for them. */
    handled_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (sh_app_start_services(app) != SH_OK)
        goto out;
    if (sh_workpool_new_nice(app->cfg.hash_workers, app->cfg.hash_queue, HASH_WORKER_NICE,
                             &app->hash_pool) != SH_OK ||
        sh_workpool_new(app->cfg.write_workers, app->cfg.write_queue, &app->write_pool) != SH_OK)
        goto out;
    if (sh_heartbeats_start(app->store, &app->auth.heartbeats) != SH_OK)
        goto out;
    /* Refresh rotations share commits on a store with one writer (SQLite).
     * A store that waits on the network per call already merges concurrent
     * commits (PostgreSQL), and one flusher's round trips would be slower. */
    if (!app->store->blocking &&
        sh_group_commit_start(app->store, "refresh_batch_failed", &app->auth.rotations) != SH_OK)
        goto out;
    if (pthread_create(&app->poller, NULL, poll_rules, app) != 0)
        goto out;
    app->poller_started = 1;
    if (start_listeners(app) != SH_OK)
        goto out;
    /* only once both listeners are bound: a start that fails prints no
     * credential (the admin API refuses every token until this line) */
    print_first_admin_token(app);
    sh_log_event(SH_LOG_INFO, "listening", "listen", app->cfg.listen);
    sh_log_event(SH_LOG_INFO, "admin_listening", "listen", app->cfg.admin_listen);
    /* both listeners bound, the store open: what Type=notify waits for */
    (void)sh_sdnotify("READY=1\nSTATUS=serving");
    wait_for_stop(app);
    (void)sh_sdnotify("STOPPING=1\nSTATUS=stopping");
    sh_log_event(SH_LOG_INFO, "shutting_down", NULL, NULL);
    code = 0;
out:
    if (app->api)
        sh_server_quiesce(app->api);
    if (app->admin)
        sh_server_quiesce(app->admin);
    /* Workers finish the jobs they hold and resume those connections; new
     * blocking requests on open connections get 503 from here on. */
    sh_workpool_stop(app->hash_pool);
    sh_workpool_stop(app->write_pool);
    sh_server_stop(app->api, SHUTDOWN_GRACE_MS);
    sh_server_stop(app->admin, 0);
    app->api = app->admin = NULL;
    sh_workpool_free(app->hash_pool);
    sh_workpool_free(app->write_pool);
    app->hash_pool = app->write_pool = NULL;
    sh_heartbeats_stop(app->auth.heartbeats);
    app->auth.heartbeats = NULL;
    sh_group_commit_stop(app->auth.rotations);
    app->auth.rotations = NULL;
    app->stopping = 1;
    if (app->poller_started)
        pthread_join(app->poller, NULL);
    sh_app_stop_services(app);
    if (code == 0)
        sh_log_event(SH_LOG_INFO, "stopped", NULL, NULL);
    return code;
}
