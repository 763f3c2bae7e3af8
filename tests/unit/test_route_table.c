/*
 * test_route_table.c - unit tests for src/api/route_table.h: both real
 * tables pass the consistency rules, every rule refuses a row that breaks
 * it, and the JSON names what each row declares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/app.h"
#include "api/route_table.h"
#include "devices/devices.h"
#include "oauth/scopes.h"

static sh_status dummy(sh_req *r)
{
    (void)r;
    return SH_OK;
}

static void test_real_tables_pass(void **state)
{
    char why[SH_ROUTE_WHY_MAX] = "";

    (void)state;
    assert_int_equal(sh_route_table_check(sh_api_routes, sh_api_routes_count, why, sizeof(why)),
                     SH_OK);
    assert_int_equal(sh_route_table_check(sh_admin_routes, sh_admin_routes_count, why, sizeof(why)),
                     SH_OK);
}

/* One broken row, and the words the refusal must contain. */
struct bad_row {
    struct sh_route rt;
    const char *says;
};

static const struct bad_row bad_rows[] = {
    {{.method = "GET", .path = "/x"}, "handler"},
    {{.method = "GET", .path = "/x", .handler = dummy, .auth = SH_AUTH_ADMIN}, "roles"},
    {{.method = "GET", .path = "/x", .handler = dummy, .roles = SH_ADMIN_OWNER}, "roles"},
    {{.method = "POST",
      .path = "/x",
      .handler = dummy,
      .auth = SH_AUTH_USER,
      .body = SH_BODY_JSON,
      .pool = SH_POOL_WRITE,
      .stepup = SH_STEPUP_RECENT},
     "step-up"},
    {{.method = "POST",
      .path = "/x",
      .handler = dummy,
      .auth = SH_AUTH_USER,
      .pool = SH_POOL_HASH,
      .stepup = SH_STEPUP_PROOF},
     "step-up"},
    {{.method = "GET",
      .path = "/v1/me",
      .handler = dummy,
      .auth = SH_AUTH_USER,
      .device_role = SH_ROLE_OWNER},
     "device role"},
    {{.method = "GET",
      .path = "/v1/devices/{id}",
      .handler = dummy,
      .auth = SH_AUTH_DEVICE,
      .device_role = SH_ROLE_VIEWER},
     "device role"},
    {{.method = "GET",
      .path = "/x",
      .handler = dummy,
      .auth = SH_AUTH_DEVICE,
      .partner_scope = SH_SCOPE_DEVICES_READ},
     "partner scopes"},
    {{.method = "GET", .path = "/x", .handler = dummy, .auth = SH_AUTH_PARTNER}, "partner route"},
    {{.method = "GET",
      .path = "/x",
      .handler = dummy,
      .auth = SH_AUTH_USER,
      .partner_scope = 1u << 7},
     "unknown partner scope"},
    {{.method = "GET",
      .path = "/x",
      .handler = dummy,
      .auth = SH_AUTH_USER,
      .pool = SH_POOL_NOSTORE},
     "nostore"},
    {{.method = "GET",
      .path = "/x",
      .handler = dummy,
      .auth = SH_AUTH_DEVICE,
      .pool = SH_POOL_CACHED},
     "cached"},
    {{.method = "GET", .path = "/x", .handler = dummy, .answer = SH_ANSWER_HTML}, "form"},
    {{.method = "GET", .path = "/x", .handler = dummy, .limit = 99}, "range"},
};

static void test_each_rule_refuses(void **state)
{
    char why[SH_ROUTE_WHY_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
        why[0] = '\0';
        assert_int_equal(sh_route_table_check(&bad_rows[i].rt, 1, why, sizeof(why)),
                         SH_ERR_INVALID_REQUEST);
        if (strstr(why, bad_rows[i].says) == NULL)
            fail_msg("row %zu: '%s' does not say '%s'", i, why, bad_rows[i].says);
    }
}

static void test_duplicate_refused(void **state)
{
    const struct sh_route two[] = {
        {.method = "GET", .path = "/x", .handler = dummy},
        {.method = "GET", .path = "/x", .handler = dummy},
    };
    char why[SH_ROUTE_WHY_MAX];

    (void)state;
    assert_int_equal(sh_route_table_check(two, 1, why, sizeof(why)), SH_OK);
    assert_int_equal(sh_route_table_check(two, 2, why, sizeof(why)), SH_ERR_INVALID_REQUEST);
    assert_non_null(strstr(why, "twice"));
}

static void test_json_names_the_declaration(void **state)
{
    const struct sh_route rt = {.method = "PUT",
                                .path = "/v1/devices/{id}/state",
                                .handler = dummy,
                                .auth = SH_AUTH_USER,
                                .body = SH_BODY_JSON,
                                .pool = SH_POOL_WRITE,
                                .partner_scope = SH_SCOPE_DEVICES_CONTROL,
                                .device_role = SH_ROLE_CONTROLLER};
    const struct sh_route adm = {.method = "GET",
                                 .path = "/metrics",
                                 .handler = dummy,
                                 .auth = SH_AUTH_ADMIN,
                                 .roles = SH_ADMIN_VIEWER | SH_ADMIN_SCRAPE};
    json_t *arr = json_array();
    const json_t *o;

    (void)state;
    assert_int_equal(sh_route_table_json("api", &rt, 1, arr), SH_OK);
    assert_int_equal(sh_route_table_json("admin", &adm, 1, arr), SH_OK);
    o = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(o, "auth")), "user");
    assert_string_equal(json_string_value(json_object_get(o, "pool")), "write");
    assert_string_equal(json_string_value(json_object_get(o, "device_role")), "controller");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "partner_scope"), 0)),
                        "devices:control");
    assert_int_equal(json_array_size(json_object_get(o, "roles")), 0);
    o = json_array_get(arr, 1);
    assert_true(json_is_null(json_object_get(o, "device_role")));
    assert_int_equal(json_array_size(json_object_get(o, "roles")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "roles"), 1)),
                        "scrape");
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_tables_pass),
        cmocka_unit_test(test_each_rule_refuses),
        cmocka_unit_test(test_duplicate_refused),
        cmocka_unit_test(test_json_names_the_declaration),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
