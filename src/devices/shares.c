/* shares.c - device sharing. Only the owner manages shares. */
#include "devices/shares.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth/accounts.h"
#include "auth/credentials.h"
#include "core/clock.h"
#include "crypto/hash.h"

void sh_share_view_clear(sh_share_view *v)
{
    free(v->email);
    memset(v, 0, sizeof(*v));
}

void sh_share_list_clear(sh_share_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        sh_share_view_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* The owner's current generation of the device, or an error. */
static sh_status owned(const sh_auth *a, const sh_principal *owner, const sh_id *device,
                       int64_t *generation)
{
    int role = 0;
    sh_status rc = sh_device_role(a, owner, device, &role, generation);

    if (rc != SH_OK)
        return rc;
    return role == SH_ROLE_OWNER ? SH_OK : SH_ERR_FORBIDDEN;
}

static sh_status find_account(const sh_auth *a, const char *email, sh_id *user)
{
    char norm[SH_EMAIL_MAX + 1];
    uint8_t idx[SH_HASH_LEN];
    sh_user_rec u;
    sh_status rc;

    if (sh_email_normalize(email, norm, sizeof(norm)) != SH_OK)
        return SH_ERR_UNKNOWN_ACCOUNT;
    sh_hash_blind_index(a->kr, norm, idx);
    sodium_memzero(norm, sizeof(norm));
    rc = sh_store_do(a->store, core, user_get_by_email, idx, &u);
    if (rc == SH_OK)
        *user = u.id;
    sh_user_rec_clear(&u);
    return rc == SH_ERR_NOT_FOUND ? SH_ERR_UNKNOWN_ACCOUNT : rc;
}

static sh_status view_of(const sh_auth *a, const sh_share_rec *s, sh_share_view *v)
{
    sh_account_view acct;
    sh_status rc = sh_account_get(a, &s->user_id, &acct);

    memset(v, 0, sizeof(*v));
    if (rc != SH_OK)
        return rc;
    v->id = s->id;
    v->role = s->role;
    v->created_at = s->created_at;
    v->email = acct.email;
    acct.email = NULL;
    sh_account_view_clear(&acct);
    return SH_OK;
}

sh_status sh_share_create(const sh_auth *a, const sh_principal *owner, const sh_id *device,
                          const char *email, int role, sh_share_view *out)
{
    sh_share_rec s;
    sh_status rc;

    if (role != SH_ROLE_CONTROLLER && role != SH_ROLE_VIEWER)
        return SH_ERR_INVALID_REQUEST;
    memset(&s, 0, sizeof(s));
    if ((rc = owned(a, owner, device, &s.generation)) != SH_OK)
        return rc;
    if ((rc = find_account(a, email, &s.user_id)) != SH_OK)
        return rc;
    if (sh_id_equal(&s.user_id, &owner->user))
        return SH_ERR_INVALID_REQUEST;
    sh_id_random(&s.id);
    s.device_id = *device;
    s.role = role;
    s.created_at = sh_clock_now_us();
    if ((rc = sh_store_do(a->store, devices, share_insert, &s)) != SH_OK)
        return rc; /* SH_ERR_CONFLICT: already shared with that account */
    return view_of(a, &s, out);
}

struct list_ctx {
    const sh_auth *a;
    sh_share_list *out;
    sh_status rc;
};

static void list_one(void *arg, const sh_share_rec *s)
{
    struct list_ctx *ctx = arg;
    sh_share_list *l = ctx->out;

    if (ctx->rc != SH_OK)
        return;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        sh_share_view *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL) {
            ctx->rc = SH_ERR_NOMEM;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    ctx->rc = view_of(ctx->a, s, &l->items[l->count]);
    if (ctx->rc == SH_OK)
        l->count++;
}

sh_status sh_share_list_for(const sh_auth *a, const sh_principal *owner, const sh_id *device,
                            sh_share_list *out)
{
    struct list_ctx ctx = {a, out, SH_OK};
    int64_t generation = 0;
    sh_status rc;

    memset(out, 0, sizeof(*out));
    if ((rc = owned(a, owner, device, &generation)) != SH_OK)
        return rc;
    rc = sh_store_do(a->store, devices, share_list, device, generation, list_one, &ctx);
    if (rc == SH_OK)
        rc = ctx.rc;
    if (rc != SH_OK)
        sh_share_list_clear(out);
    return rc;
}

sh_status sh_share_delete(const sh_auth *a, const sh_principal *owner, const sh_id *device,
                          const sh_id *share)
{
    int64_t generation = 0;
    sh_status rc = owned(a, owner, device, &generation);

    if (rc != SH_OK)
        return rc;
    return sh_store_do(a->store, devices, share_delete, device, share);
}
