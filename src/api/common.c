/* common.c - JSON helpers shared by handlers, and the health check. */
#include "api/api.h"

#include "core/clock.h"

json_t *sh_api_time(int64_t us)
{
    char buf[SH_RFC3339_MAX];

    sh_clock_format(us, buf, sizeof(buf));
    return json_string(buf);
}

json_t *sh_api_id(const sh_id *id)
{
    sh_id_hex hex;

    sh_id_to_hex(id, &hex);
    return json_string(hex.s);
}

sh_status sh_api_healthz(sh_req *r)
{
    return sh_req_reply(r, 200, json_pack("{s:s}", "status", "ok"));
}
