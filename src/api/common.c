/* common.c - JSON helpers shared by handlers. */
#include "api/api.h"

#include "auth/stepup.h"
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

sh_status sh_api_limited(sh_req *r, sh_status rc, int retry_after_s)
{
    if (rc == SH_ERR_RATE_LIMITED) {
        r->retry_after = retry_after_s > 0 ? retry_after_s : 1;
        return sh_req_fail(r, rc, "too many attempts; retry later");
    }
    return rc;
}

sh_status sh_api_stepup(sh_req *r)
{
    int retry = 0;
    sh_status rc = sh_stepup_check(&sh_api_app(r)->auth, &r->principal, r->body, &retry);

    if (rc == SH_ERR_REAUTH)
        return sh_req_fail(r, rc,
                           "log in again, or send 'password' (and 'code' or 'recovery_code' "
                           "with two-factor login on)");
    return sh_api_limited(r, rc, retry);
}
