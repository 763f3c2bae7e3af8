/* credentials.c - e-mail normalization and password policy. */
#include "auth/credentials.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <sodium.h>

extern const char *const sh_common_passwords[];
extern const size_t sh_common_passwords_count;

static int local_part_ok(const char *p, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        /* control characters, space and the characters RFC 5322 reserves */
        if (c <= 0x20 || c == 0x7f || strchr("\"(),:;<>[\\]@", c) != NULL)
            return 0;
    }
    if (memmem(p, n, "..", 2) != NULL)
        return 0;
    return p[0] != '.' && p[n - 1] != '.';
}

static int domain_ok(const char *d)
{
    size_t n = strlen(d);

    if (n < 3 || n > 253 || strchr(d, '.') == NULL || d[0] == '.' || d[n - 1] == '.' || d[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (!(isalnum(c) || c == '-' || c == '.'))
            return 0;
        if (c == '.' && d[i + 1] == '.')
            return 0;
    }
    return 1;
}

sh_status sh_email_normalize(const char *in, char *out, size_t cap)
{
    const char *start = in, *end, *at;
    char *domain = NULL, *ascii = NULL;
    size_t local_len, dlen;
    sh_status rc = SH_ERR_INVALID_EMAIL;

    while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n')
        start++;
    end = start + strlen(start);
    while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (end - start > (ptrdiff_t)SH_EMAIL_MAX * 4)
        return SH_ERR_INVALID_EMAIL;
    at = NULL;
    for (const char *p = start; p < end; p++) {
        if (*p == '@')
            at = p;
    }
    if (at == NULL)
        return SH_ERR_INVALID_EMAIL;
    local_len = (size_t)(at - start);
    if (!local_part_ok(start, local_len))
        return SH_ERR_INVALID_EMAIL;
    dlen = (size_t)(end - at - 1);
    domain = strndup(at + 1, dlen);
    if (domain == NULL)
        return SH_ERR_NOMEM;
    if (idn2_to_ascii_8z(domain, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK)
        goto out;
    for (char *p = ascii; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (!domain_ok(ascii) || local_len + 1 + strlen(ascii) > SH_EMAIL_MAX ||
        local_len + 1 + strlen(ascii) + 1 > cap)
        goto out;
    memcpy(out, start, local_len);
    out[local_len] = '@';
    memcpy(out + local_len + 1, ascii, strlen(ascii) + 1); /* length checked above */
    rc = SH_OK;
out:
    free(domain);
    idn2_free(ascii);
    return rc;
}

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    }
    return n;
}

static int cmp_str(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

sh_status sh_password_policy_check(const char *pw, size_t len)
{
    char lower[SH_PASSWORD_MAX_CHARS * 4 + 1];
    size_t chars = utf8_chars(pw, len);
    int found;

    if (chars < SH_PASSWORD_MIN_CHARS || chars > SH_PASSWORD_MAX_CHARS || len >= sizeof(lower))
        return SH_ERR_WEAK_PASSWORD;
    if (memchr(pw, '\0', len) != NULL)
        return SH_ERR_WEAK_PASSWORD;
    for (size_t i = 0; i < len; i++)
        lower[i] = (char)tolower((unsigned char)pw[i]);
    lower[len] = '\0';
    found = bsearch(lower, sh_common_passwords, sh_common_passwords_count, sizeof(char *),
                    cmp_str) != NULL;
    sodium_memzero(lower, sizeof(lower));
    return found ? SH_ERR_WEAK_PASSWORD : SH_OK;
}
