/* An example cchost plugin in C: it includes only the ABI header.
 *
 * Build outside SwiftPM:  cc -shared -fPIC -I Sources/PluginABI/include example.c -o example.so
 */
#define _GNU_SOURCE /* memmem */
#include "cchost_plugin.h"

#include <stdlib.h>
#include <string.h>

static const cchost_host_table *host;

/* Buffers we hand to the host are ours: malloc here, free in release_buffer. */
static void fill(cchost_buffer *buffer, const char *text) {
    buffer->len = strlen(text);
    buffer->data = malloc(buffer->len);
    if (buffer->data == NULL) { buffer->len = 0; return; }
    memcpy(buffer->data, text, buffer->len);
}

static void release_buffer(cchost_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->len = 0;
}

static int32_t initialize(const cchost_host_table *table, cchost_buffer *error) {
    if (!CCHOST_HOST_HAS(table, app_info)) {
        fill(error, "this plugin needs a host with app_info");
        return 1;
    }
    host = table;
    return 0;
}

static int32_t metadata(cchost_buffer *out) {
    fill(out, "{\"recipes\": [\"custom-html\"], \"canonical_sweep\": true,"
              " \"stages\": [\"install\", \"upgrade\", \"backup\", \"restore\"],"
              " \"readiness\": {\"path\": \"/\", \"status\": 200},"
              " \"config\": {\"has-service\": {\"service\": \"app\"}}}");
    return 0;
}

/* A typed check: the worker binds `service` from configuration and calls this through libffi. */
static int has_service(const char *service) {
    cchost_buffer info = {0};
    if (host->app_info(&info) != CCHOST_HOST_OK) {
        host->log(CCHOST_LOG_ERROR, "app_info is not available");
        host->buffer_free(&info);
        return CCHOST_PLUGIN_ERROR;
    }
    /* The services list holds quoted names; look for "<service>" in it. */
    size_t want = strlen(service) + 2;
    char *quoted = malloc(want + 1);
    int found = 0;
    if (quoted != NULL) {
        quoted[0] = '"';
        memcpy(quoted + 1, service, want - 2);
        quoted[want - 1] = '"';
        quoted[want] = '\0';
        const char *services = memmem(info.data, info.len, "\"services\"", 10);
        found = services != NULL &&
                memmem(services, info.len - (size_t)(services - (const char *)info.data), quoted, want) != NULL;
        free(quoted);
    }
    host->buffer_free(&info);
    return found ? CCHOST_PASS : CCHOST_FAIL;
}

/* A plain check: says which stack it saw, through the host table. */
static int32_t stack_named(void *user_data, const cchost_call *call, cchost_buffer *detail) {
    (void)user_data;
    cchost_buffer info = {0};
    if (host->app_info(&info) != CCHOST_HOST_OK) {
        fill(detail, "app_info is not available");
        host->buffer_free(&info);
        return CCHOST_PLUGIN_ERROR;
    }
    int ok = memmem(info.data, info.len, "\"stack\"", 7) != NULL;
    host->buffer_free(&info);
    fill(detail, ok ? "app info names a stack" : "app info has no stack");
    (void)call;
    return ok ? CCHOST_PASS : CCHOST_FAIL;
}

static const cchost_check checks[] = {
    {.name = "has-service", .tiers = "install,upgrade", .description = "the app has the configured service",
     .typed = (void (*)(void))has_service, .signature = "int has_service(const char *service)"},
    {.name = "stack-named", .tiers = "install", .description = "the host reports the app's stack",
     .run = stack_named},
};

static const cchost_plugin plugin = {
    CCHOST_PLUGIN_HEADER,
    .name = "example-c",
    .version = "1.0.0",
    .initialize = initialize,
    .metadata = metadata,
    .free_buffer = release_buffer,
    .check_count = sizeof checks / sizeof checks[0],
    .checks = checks,
};

const cchost_plugin *cchost_plugin_v1(void) { return &plugin; }
