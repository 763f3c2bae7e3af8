/*
 * tables.h - the tables of the schema, named once for every backend, in
 * foreign-key order: each table comes after every table it references, so
 * copying them in this order never breaks a reference, and deleting in the
 * reverse order never cascades.
 *
 * Used by `safehouse admin migrate-store`, which refuses a store with a
 * table this list does not name: a migration that adds a table must add it
 * here too, or the copy would leave it behind.
 */
#ifndef SH_STORE_TABLES_H
#define SH_STORE_TABLES_H

/* The names, in foreign-key order. */
extern const char *const sh_store_tables[];
extern const int sh_store_tables_count;

/* The most columns a table may have in a bulk copy (the widest has 14),
 * and the longest table or column name. */
#define SH_STORE_COLS_MAX 32
#define SH_STORE_NAME_MAX 63

/* The position of name in sh_store_tables, or -1 when it is not there. */
int sh_store_table_index(const char *name);
/* 1 when name is a plain SQL identifier (lower-case letters, digits and
 * '_', not starting with a digit, at most SH_STORE_NAME_MAX bytes), the
 * only names bulk copy puts into SQL; else 0. */
int sh_store_name_ok(const char *name);

#endif
