/* migrations.h - schema migrations embedded from migrations/BACKEND/NNN_name.sql
 * at build time, applied in version order at start. */
#ifndef SH_MIGRATIONS_H
#define SH_MIGRATIONS_H

struct sh_migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct sh_migration sh_sqlite_migrations[];
extern const int sh_sqlite_migrations_count;
extern const struct sh_migration sh_postgres_migrations[];
extern const int sh_postgres_migrations_count;

#endif
