/* store_mfa.c - backend-independent helpers for the records of store_mfa.h. */
#include "store/store_mfa.h"

#include <stdlib.h>
#include <string.h>

void sh_totp_rec_clear(sh_totp_rec *t)
{
    free(t->secret_ct);
    memset(t, 0, sizeof(*t));
}

void sh_challenge_rec_clear(sh_challenge_rec *c)
{
    free(c->device_name_ct);
    memset(c, 0, sizeof(*c));
}

void sh_mail_rec_clear(sh_mail_rec *m)
{
    free(m->recipient_ct);
    free(m->body_ct);
    memset(m, 0, sizeof(*m));
}
