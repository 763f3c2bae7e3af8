/* common.c - JSON helpers shared by handlers. */
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

sh_status sh_api_limited(sh_req *r, sh_status rc, int retry_after_s)
{
    if (rc == SH_ERR_RATE_LIMITED) {
        r->retry_after = retry_after_s > 0 ? retry_after_s : 1;
        return sh_req_fail(r, rc, "too many attempts; retry later");
    }
    return rc;
}

/* A login's or a code's outcome for /metrics: bad input is none of them. */
void sh_api_count_outcome(void (*count)(enum sh_metrics_outcome), sh_status rc)
{
    if (rc == SH_OK)
        count(SH_METRICS_SUCCESS);
    else if (rc == SH_ERR_RATE_LIMITED)
        count(SH_METRICS_LIMITED);
    else if (rc == SH_ERR_INVALID_CREDENTIALS || rc == SH_ERR_INVALID_CODE ||
             rc == SH_ERR_INVALID_TOKEN)
        count(SH_METRICS_FAILURE);
}
