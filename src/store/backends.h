/*
 * backends.h - the backends' entry points, for the factory in store.c only.
 * Domain code opens a store with sh_store_open (store.h) and never names a
 * backend.
 */
#ifndef SH_STORE_BACKENDS_H
#define SH_STORE_BACKENDS_H

#include <stddef.h>

#include "store/store.h"

/* sqlite/store_sqlite.c: the embedded store in one file. */
sh_status sh_store_open_sqlite(const char *path, sh_store **out);
/* The default file of a data dir, as "sqlite:DIR/<file>". */
int sh_store_sqlite_default_url(const char *data_dir, char *buf, size_t cap);

/* postgres/store_pg.c: url in libpq's URI syntax. */
sh_status sh_store_open_postgres(const char *url, sh_store **out);

#endif
