/*
 * devices_rows.h - reading device rows on the PostgreSQL backend, shared by
 * devices.c (which defines these) and oauth.c (devices seen through a
 * grant). A device row is SH_PG_DEVICE_COLS over a table aliased d.
 */
#ifndef SH_PG_DEVICES_ROWS_H
#define SH_PG_DEVICES_ROWS_H

#include "store/postgres/internal.h"
#include "store/store_devices.h"

/* Columns of a device row (table alias d), in the order sh_pg_read_device
 * reads them (12 columns). */
#define SH_PG_DEVICE_COLS                                                                          \
    "d.id,d.type,d.model,d.owner_id,d.generation,d.name_ct,d.network_ct,"                          \
    "coalesce(d.firmware_version,''),coalesce(d.last_seen_at,0),d.desired_state,"                  \
    "coalesce(d.claim_expires_at,0),d.created_at"

/* Reads row `row` of r (SH_PG_DEVICE_COLS first) into d, which then owns
 * its blobs. Returns 0, or -1 when out of memory (d is then cleared). */
int sh_pg_read_device(const PGresult *r, int row, sh_device_rec *d);

/* Runs sql with p over device rows whose 13th column is the caller's role
 * and calls cb for each row once all rows are read (cb may call the store
 * again). The record passed to cb is valid during the call only. */
sh_status sh_pg_each_device(struct sh_pg_conn *c, const char *sql, const sh_pg_params *p,
                            sh_store_device_cb cb, void *ctx);

#endif
