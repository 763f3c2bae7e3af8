/*
 * scopes.h - what a partner may be granted. Three scopes, as bits so a
 * grant, a token and a route can be compared with one AND:
 *   devices:read     list and read the granted devices
 *   devices:control  set their desired state (power, brightness)
 *   camera:stream    take a stream ticket for a granted camera
 * Health data, network details, sessions and account data have no scope:
 * no partner can ever be granted them.
 */
#ifndef SH_OAUTH_SCOPES_H
#define SH_OAUTH_SCOPES_H

#include <stddef.h>

#define SH_SCOPE_DEVICES_READ (1u << 0)
#define SH_SCOPE_DEVICES_CONTROL (1u << 1)
#define SH_SCOPE_CAMERA_STREAM (1u << 2)
#define SH_SCOPE_ALL (SH_SCOPE_DEVICES_READ | SH_SCOPE_DEVICES_CONTROL | SH_SCOPE_CAMERA_STREAM)
#define SH_SCOPE_TEXT_MAX 64 /* longest space-separated list, with NUL */

/* Parses a space-separated scope list (RFC 6749 3.3) into bits. Returns 0
 * on success, -1 if a scope is unknown or the text is malformed (empty
 * items from doubled spaces are refused). */
int sh_scope_parse(const char *text, unsigned *bits);
/* Writes the space-separated list of bits into out (cap >= SH_SCOPE_TEXT_MAX). */
void sh_scope_format(unsigned bits, char *out, size_t cap);
/* Number of known scopes, and scope i's name and plain-language
 * description (for the consent page). */
size_t sh_scope_count(void);
const char *sh_scope_name(size_t i);
unsigned sh_scope_bit(size_t i);
const char *sh_scope_description(size_t i);

#endif
