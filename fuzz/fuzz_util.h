/*
 * fuzz_util.h - what several fuzz drivers share: a fixed master key (so seed
 * tokens in the corpus stay valid from run to run), a private data directory
 * for drivers that need a real store, and a NUL-terminated copy of an input.
 *
 * Drivers are built twice: with libFuzzer (clang, make fuzz) and with the
 * ordinary ASan/UBSan test flags against replay_main.c (make fuzz-replay),
 * which replays the seed corpora and every kept regression input.
 */
#ifndef SH_FUZZ_UTIL_H
#define SH_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keyring.h"

/* The master key every driver uses: 32 bytes of 0x42, as hex. Seed tokens in
 * fuzz/corpus were minted with it (see fuzz/README.md). */
#define SH_FUZZ_MASTER_KEY_HEX "4242424242424242424242424242424242424242424242424242424242424242"

/* Initializes libsodium, quiets the log (errors only, no access lines) and
 * points SAFEHOUSE_MASTER_KEY at the fixed key. Aborts on failure. */
void sh_fuzz_env(void);
/* sh_fuzz_env, then opens a keyring on the fixed key. Aborts on failure. */
sh_keyring *sh_fuzz_keyring(void);
/* Makes a private directory (on /dev/shm when there is one, so durable
 * commits are cheap) that is removed at exit. Returns its path (static). */
const char *sh_fuzz_temp_dir(void);
/* Returns a malloc'ed NUL-terminated copy of data (the caller frees). */
char *sh_fuzz_cstr(const uint8_t *data, size_t size);

#endif
