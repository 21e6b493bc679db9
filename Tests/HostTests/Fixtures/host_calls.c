/* Exercises each slot of the host function table; each check reports what the host answered in its
 * detail as "<status>|<payload>" so the tests can see both. */
#include "cchost_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cchost_host_table *host;

static void release(cchost_buffer *b) { free(b->data); b->data = NULL; b->len = 0; }

static void answer(cchost_buffer *detail, int32_t status, const cchost_buffer *payload) {
    char head[32];
    int n = snprintf(head, sizeof head, "%d|", status);
    detail->len = (size_t)n + payload->len;
    detail->data = malloc(detail->len);
    memcpy(detail->data, head, (size_t)n);
    if (payload->len) memcpy(detail->data + n, payload->data, payload->len);
}

static int32_t initialize(const cchost_host_table *table, cchost_buffer *error) {
    (void)error;
    host = table;
    host->log(CCHOST_LOG_INFO, "host-calls initialised");
    return 0;
}

static int32_t metadata(cchost_buffer *out) {
    static const char json[] = "{\"recipes\": [\"fixture\"]}";
    out->len = sizeof json - 1;
    out->data = malloc(out->len);
    memcpy(out->data, json, out->len);
    return 0;
}

/* The configuration value `key`, or "" (the tests set what each check needs). */
static char *config(const char *key) {
    cchost_buffer value = {0};
    char *text = calloc(1, 256);
    if (host->config(key, &value) == CCHOST_HOST_OK && value.len < 256) memcpy(text, value.data, value.len);
    host->buffer_free(&value);
    return text;
}

static int32_t app_info(void *u, const cchost_call *c, cchost_buffer *detail) {
    (void)u; (void)c;
    cchost_buffer out = {0};
    int32_t status = host->app_info(&out);
    answer(detail, status, &out);
    host->buffer_free(&out);
    return CCHOST_PASS;
}

static int32_t exec_in(void *u, const cchost_call *c, cchost_buffer *detail) {
    (void)u; (void)c;
    char *service = config("service");
    const char *argv[] = {"true", NULL};
    int32_t exit_code = -1;
    cchost_buffer out = {0};
    int32_t status = host->exec(service, argv, &exit_code, &out);
    answer(detail, status, &out);
    host->buffer_free(&out);
    free(service);
    return CCHOST_PASS;
}

static int32_t http_get(void *u, const cchost_call *c, cchost_buffer *detail) {
    (void)u; (void)c;
    char *path = config("path");
    int32_t code = 0;
    cchost_buffer out = {0};
    int32_t status = host->http("GET", path, NULL, &code, &out);
    answer(detail, status, &out);
    host->buffer_free(&out);
    free(path);
    return CCHOST_PASS;
}

static int32_t artifact(void *u, const cchost_call *c, cchost_buffer *detail) {
    (void)u; (void)c;
    char *name = config("artifact_name");
    static const char body[] = "artifact body";
    int32_t status = host->artifact_write(name, (const uint8_t *)body, sizeof body - 1);
    cchost_buffer none = {0};
    answer(detail, status, &none);
    free(name);
    return CCHOST_PASS;
}

static int32_t log_lines(void *u, const cchost_call *c, cchost_buffer *detail) {
    (void)u; (void)detail;
    host->log(CCHOST_LOG_WARNING, c->tier);
    host->log(CCHOST_LOG_ERROR, c->name);
    return CCHOST_PASS;
}

/* `calls` config lookups in a row: one host-table round trip each (used by scripts/bench). */
static int32_t config_loop(void *u, const cchost_call *c, cchost_buffer *detail) {
    (void)u; (void)c; (void)detail;
    char *count = config("calls");
    int calls = atoi(count);
    free(count);
    for (int i = 0; i < calls; i++) {
        cchost_buffer value = {0};
        host->config("calls", &value);
        host->buffer_free(&value);
    }
    return CCHOST_PASS;
}

static const cchost_check checks[] = {
    {.name = "config-loop", .tiers = "install", .run = config_loop},
    {.name = "app-info", .tiers = "install", .run = app_info},
    {.name = "exec", .tiers = "install", .run = exec_in},
    {.name = "http", .tiers = "install", .run = http_get},
    {.name = "artifact", .tiers = "install", .run = artifact},
    {.name = "log", .tiers = "install,upgrade", .run = log_lines},
};

static const cchost_plugin plugin = {
    CCHOST_PLUGIN_HEADER,
    .name = "host-calls",
    .version = "0.0.1",
    .initialize = initialize,
    .metadata = metadata,
    .free_buffer = release,
    .check_count = sizeof checks / sizeof checks[0],
    .checks = checks,
};

const cchost_plugin *cchost_plugin_v1(void) { return &plugin; }
