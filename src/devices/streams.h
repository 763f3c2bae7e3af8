/*
 * streams.h - camera stream tickets and the media relays that check them.
 *
 * A ticket (sh_st_, at most 300 s) is MAC'd and names the device, its
 * generation, the user and the user's session. The relay asks
 * POST /v1/streams/verify; the answer is "active" only while the ticket is
 * unexpired, the device is still in that generation, the user still has a
 * role on it, and no revocation rule covers the user's session. A ticket
 * taken by a partner names its grant instead of a session: it stays active
 * only while the grant lives and still names the device in that generation.
 */
#ifndef SH_STREAMS_H
#define SH_STREAMS_H

#include "devices/devices.h"

#define SH_STREAM_TTL_S 300
/* The class byte of a ticket taken by an OAuth partner: its session field
 * is then the partner's grant. */
#define SH_STREAM_CLASS_PARTNER 0xFE

typedef struct sh_stream_status {
    int active;
    sh_id device;
    sh_id user;
    int64_t expires_at;
} sh_stream_status;

/* Issues a ticket for a camera the caller has any role on. */
sh_status sh_stream_ticket(const sh_auth *a, const sh_principal *user, const sh_id *device,
                           char ticket[SH_TOKEN_MAX], int64_t *expires_in_s);
/* Checks a ticket; an unusable one is {active: 0} with SH_OK. */
sh_status sh_stream_verify(const sh_auth *a, const char *ticket, size_t len, sh_stream_status *out);
/* Creates a relay credential (shown once). */
sh_status sh_relay_create(const sh_auth *a, sh_id *id, char token[SH_TOKEN_MAX]);
sh_status sh_relay_authenticate(const sh_auth *a, const char *token, size_t len, sh_principal *out);

#endif
