/*
 * id.h - 128-bit random identifiers (users, sessions, rules, ...), shown to
 * clients as 32 lower-case hex characters. Random, never sequential, so an
 * id leaks neither a count nor an order.
 */
#ifndef SH_ID_H
#define SH_ID_H

#include <stdint.h>

#define SH_ID_LEN 16
#define SH_ID_HEX_LEN 32

typedef struct sh_id {
    uint8_t b[SH_ID_LEN];
} sh_id;

typedef struct sh_id_hex {
    char s[SH_ID_HEX_LEN + 1];
} sh_id_hex;

void sh_id_random(sh_id *id);

/* Bulk loads only (safehouse seed): until sh_id_ascending_end, the next
 * expected ids this thread draws come in ascending byte order, still random
 * (the id space is cut into expected equal slices and each id is drawn at
 * random inside the next slice). Every table then grows at the right edge
 * of its B-tree instead of touching a random page per row. Such ids leak
 * their order of creation, which is why nothing but the seed uses this.
 * Past expected ids, sh_id_random is plainly random again. */
void sh_id_ascending_begin(uint64_t expected);
void sh_id_ascending_end(void);
void sh_id_to_hex(const sh_id *id, sh_id_hex *out);
/* Returns 0 if text is exactly 32 hex characters (any case), else -1. */
int sh_id_from_hex(const char *text, sh_id *id);
int sh_id_equal(const sh_id *a, const sh_id *b);
int sh_id_is_zero(const sh_id *id);

#endif
