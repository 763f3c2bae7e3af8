/*
 * qr_svg.h - a QR code (libqrencode) drawn as a small SVG document, for the
 * otpauth URI shown at two-factor enrolment. One <path> of unit squares on
 * a white background with the standard 4-module quiet zone; the client
 * scales it. The text it encodes holds a TOTP secret: the caller wipes and
 * frees the result.
 */
#ifndef SH_QR_SVG_H
#define SH_QR_SVG_H

#include <stddef.h>

/* Returns a malloc'd NUL-terminated SVG document, *len its length; NULL if
 * the text cannot be encoded or memory runs out. */
char *sh_qr_svg(const char *text, size_t *len);

#endif
