/* smtp.c - libcurl's SMTP client, one connection per message. */
#include "mail/smtp.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "core/log.h"

#define CONNECT_TIMEOUT_S 10L
#define TOTAL_TIMEOUT_S 30L
#define ADDR_MAX 320

struct upload {
    const char *data;
    size_t len, off;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t room = size * nitems, n = u->len - u->off;

    if (n > room)
        n = room;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

sh_status sh_smtp_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SH_OK : SH_ERR_INTERNAL;
}

void sh_smtp_cleanup(void) { curl_global_cleanup(); }

sh_status sh_smtp_send(const char *url, const char *from, const char *to, const char *msg,
                       size_t len)
{
    struct upload up = {msg, len, 0};
    struct curl_slist *rcpt = NULL;
    char from_addr[ADDR_MAX], to_addr[ADDR_MAX], code[16];
    CURL *c = curl_easy_init();
    CURLcode rc = CURLE_FAILED_INIT;

    if (c == NULL)
        goto out;
    snprintf(from_addr, sizeof(from_addr), "<%s>", from);
    snprintf(to_addr, sizeof(to_addr), "<%s>", to);
    rcpt = curl_slist_append(NULL, to_addr);
    if (rcpt == NULL)
        goto out;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_addr);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    rc = curl_easy_perform(c);
out:
    if (rc != CURLE_OK) {
        snprintf(code, sizeof(code), "%d", (int)rc);
        sh_log_event(SH_LOG_WARN, "smtp_send_failed", "curl_code", code);
    }
    curl_slist_free_all(rcpt);
    if (c != NULL)
        curl_easy_cleanup(c);
    return rc == CURLE_OK ? SH_OK : SH_ERR_IO;
}
