/* qr_svg.c - libqrencode modules to SVG path commands. */
#include "api/qr_svg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>

#define QUIET 4
#define CMD_MAX 32 /* "M123 123h1v1h-1z" */

char *sh_qr_svg(const char *text, size_t *len)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    size_t cap, n = 0;
    char *out = NULL;
    int w, size, k;

    if (qr == NULL)
        return NULL;
    w = qr->width;
    size = w + 2 * QUIET;
    cap = 512 + (size_t)w * (size_t)w * CMD_MAX;
    out = malloc(cap);
    if (out == NULL)
        goto done;
    k = snprintf(out, cap,
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                 "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
                 "fill=\"#fff\"/><path fill=\"#000\" d=\"",
                 size, size, size, size);
    n = (size_t)k;
    for (int y = 0; y < w; y++) {
        for (int x = 0; x < w; x++) {
            if (qr->data[y * w + x] & 1) {
                k = snprintf(out + n, cap - n, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
                n += (size_t)k;
            }
        }
    }
    k = snprintf(out + n, cap - n, "\"/></svg>");
    n += (size_t)k;
    *len = n;
done:
    sodium_memzero(qr->data, (size_t)qr->width * (size_t)qr->width);
    QRcode_free(qr);
    return out;
}
