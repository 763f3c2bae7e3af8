/*
 * shares.h - an owner lets another account see (viewer) or control
 * (controller) a device. A share names the device generation it was made
 * for and ends with it.
 */
#ifndef SH_SHARES_H
#define SH_SHARES_H

#include "devices/devices.h"

typedef struct sh_share_view {
    sh_id id;
    char *email; /* the invitee's, shown to the owner; malloc'd */
    int role;
    int64_t created_at;
} sh_share_view;

typedef struct sh_share_list {
    sh_share_view *items;
    size_t count, cap;
} sh_share_list;

void sh_share_view_clear(sh_share_view *v);
void sh_share_list_clear(sh_share_list *l);

/* Owner shares device id with the account of `email`. Errors:
 * SH_ERR_UNKNOWN_ACCOUNT (no such account), SH_ERR_CONFLICT (already
 * shared), SH_ERR_INVALID_REQUEST (sharing with oneself or a bad role). */
sh_status sh_share_create(const sh_auth *a, const sh_principal *owner, const sh_id *device,
                          const char *email, int role, sh_share_view *out);
sh_status sh_share_list_for(const sh_auth *a, const sh_principal *owner, const sh_id *device,
                            sh_share_list *out);
sh_status sh_share_delete(const sh_auth *a, const sh_principal *owner, const sh_id *device,
                          const sh_id *share);

#endif
