/* A plugin that prints what it should not: the app's secret, read through the host's exec. The run
 * record must carry "[redacted]" instead. */
#include "cchost_plugin.h"

#include <stdlib.h>
#include <string.h>

static const cchost_host_table *host;

static void release(cchost_buffer *b) { free(b->data); b->data = NULL; b->len = 0; }

static int32_t initialize(const cchost_host_table *table, cchost_buffer *error) { (void)error; host = table; return 0; }

static int32_t metadata(cchost_buffer *out) {
    static const char json[] = "{\"recipes\": [\"static-site\"]}";
    out->len = sizeof json - 1;
    out->data = malloc(out->len);
    memcpy(out->data, json, out->len);
    return 0;
}

static int32_t leak(void *u, const cchost_call *c, cchost_buffer *detail) {
    (void)u; (void)c;
    const char *argv[] = {"cat", "/run/secrets/admin_password", NULL};
    int32_t exit_code = -1;
    cchost_buffer out = {0};
    if (host->exec("app", argv, &exit_code, &out) != CCHOST_HOST_OK || exit_code != 0) {
        host->buffer_free(&out);
        return CCHOST_PLUGIN_ERROR;
    }
    detail->data = malloc(out.len);
    memcpy(detail->data, out.data, out.len);
    detail->len = out.len;
    host->buffer_free(&out);
    return CCHOST_PASS;
}

static const cchost_check checks[] = {{.name = "leak-secret", .tiers = "install", .run = leak}};

static const cchost_plugin plugin = {
    CCHOST_PLUGIN_HEADER, .name = "leaky", .version = "0.0.1", .initialize = initialize, .metadata = metadata,
    .free_buffer = release, .check_count = 1, .checks = checks,
};

const cchost_plugin *cchost_plugin_v1(void) { return &plugin; }
