/*
 * fuzz_fields.c - the small parsers of outside input that are not worth a
 * driver each. The first byte picks one, the rest is its input:
 *   0  sh_id_from_hex          path parameters ({id}) and rule values
 *   1  sh_display_name_valid   display and device names
 *   2  sh_password_policy_check passwords (length in code points, list)
 *   3  sh_class_from_name / sh_revocation_scope_from_name   enum names
 *   4  sh_server_parse_addr    --listen / --admin-listen / environment
 *   5  sh_device_type_from_name / sh_device_role_from_name  device enums
 *   6  sh_scope_parse          OAuth scope lists
 *   7  sh_oauth_redirect_uri_valid / _origin   redirect URIs at registration
 *   8  sh_pkce_challenge_valid / sh_pkce_s256_check   PKCE (RFC 7636)
 * Properties: an id that parses prints back as the same text (lower-cased);
 * a class, scope, device type or role name that parses prints back as
 * itself; a scope list that parses formats to a list that parses to the
 * same bits; a valid redirect URI has an origin that is a prefix of it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "auth/credentials.h"
#include "auth/revocation.h"
#include "auth/token_class.h"
#include "auth/user_key.h"
#include "core/id.h"
#include "crypto/pkce.h"
#include "devices/devices.h"
#include "oauth/clients.h"
#include "oauth/scopes.h"
#include "http/server.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *in)
{
    sh_id id;
    sh_id_hex hex;

    if (sh_id_from_hex(in, &id) != 0)
        return;
    sh_id_to_hex(&id, &hex);
    if (strcasecmp(hex.s, in) != 0)
        abort();
}

static void check_names(const char *in)
{
    int cls = sh_class_from_name(in);
    int scope = sh_revocation_scope_from_name(in);

    if (cls != SH_CLASS_NONE && strcmp(sh_class_name(cls), in) != 0)
        abort();
    if (scope != 0 && strcmp(sh_revocation_scope_name(scope), in) != 0)
        abort();
}

static void check_device_names(const char *in)
{
    int type = sh_device_type_from_name(in);
    int role = sh_device_role_from_name(in);

    if (type != 0 && strcmp(sh_device_type_name(type), in) != 0)
        abort();
    if (role != 0 && strcmp(sh_device_role_name(role), in) != 0)
        abort();
}

static void check_scopes(const char *in)
{
    unsigned bits = 0, again = 0;
    char text[SH_SCOPE_TEXT_MAX];

    if (sh_scope_parse(in, &bits) != 0)
        return;
    sh_scope_format(bits, text, sizeof(text));
    if (bits != 0 && (sh_scope_parse(text, &again) != 0 || again != bits))
        abort();
}

static void check_redirect(const char *in)
{
    char origin[SH_OAUTH_ORIGIN_MAX];

    if (!sh_oauth_redirect_uri_valid(in))
        return;
    if (sh_oauth_redirect_origin(in, origin, sizeof(origin)) == 0 &&
        strncmp(in, origin, strlen(origin)) != 0)
        abort();
}

static void check_pkce(const char *in, size_t len)
{
    /* the RFC 7636 appendix B challenge */
    static const char challenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    (void)sh_pkce_challenge_valid(in, len);
    if (sh_pkce_s256_check(challenge, in, len) &&
        (len != 43 || memcmp(in, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", 43) != 0))
        abort(); /* only the appendix B verifier hashes to it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_storage addr;
    size_t addr_len = 0;
    char *in;

    if (size < 1)
        return 0;
    in = sh_fuzz_cstr(data + 1, size - 1);
    switch (data[0] % 9) {
    case 0:
        check_id(in);
        break;
    case 1:
        (void)sh_display_name_valid(in);
        break;
    case 2:
        (void)sh_password_policy_check((const char *)data + 1, size - 1);
        break;
    case 3:
        check_names(in);
        break;
    case 5:
        check_device_names(in);
        break;
    case 6:
        check_scopes(in);
        break;
    case 7:
        check_redirect(in);
        break;
    case 8:
        check_pkce((const char *)data + 1, size - 1);
        break;
    default:
        if (sh_server_parse_addr(in, &addr, &addr_len) == 0 && addr_len > sizeof(addr))
            abort();
        break;
    }
    free(in);
    return 0;
}
