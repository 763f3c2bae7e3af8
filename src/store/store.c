/* store.c - backend-independent helpers for store records. */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

void sh_user_rec_clear(sh_user_rec *u)
{
    free(u->email_ct);
    free(u->name_ct);
    free(u->wrapped_key);
    memset(u, 0, sizeof(*u));
}

void sh_session_rec_clear(sh_session_rec *s)
{
    free(s->device_name_ct);
    memset(s, 0, sizeof(*s));
}
