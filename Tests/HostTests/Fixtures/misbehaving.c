/* A plugin that misbehaves on purpose; each check does one bad thing. With -DCRASH_IN_CONSTRUCTOR it
 * segfaults while being loaded, before cchost_plugin_v1 is ever called. */
#include "cchost_plugin.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef CRASH_IN_CONSTRUCTOR
__attribute__((constructor)) static void crash_on_load(void) {
    volatile int *nowhere = NULL;
    *nowhere = 1;
}
#endif

static const cchost_host_table *host;

static void release(cchost_buffer *b) { free(b->data); b->data = NULL; b->len = 0; }

static int32_t initialize(const cchost_host_table *table, cchost_buffer *error) {
    (void)error;
    host = table;
    return 0;
}

static int32_t metadata(cchost_buffer *out) {
    static const char json[] = "{\"recipes\": [\"fixture\"]}";
    out->len = sizeof json - 1;
    out->data = malloc(out->len);
    memcpy(out->data, json, out->len);
    return 0;
}

static int32_t segfault(void *u, const cchost_call *c, cchost_buffer *d) {
    (void)u; (void)c; (void)d;
    volatile int *nowhere = NULL;
    *nowhere = 1;
    return CCHOST_PASS;
}

static int32_t hang(void *u, const cchost_call *c, cchost_buffer *d) {
    (void)u; (void)c; (void)d;
    for (;;) pause();
}

static int32_t noisy(void *u, const cchost_call *c, cchost_buffer *d) {
    (void)u; (void)c; (void)d;
    /* 8 MiB on stdout: the worker points stdout at stderr, the host keeps only a capped tail. */
    char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 8192; i++) { if (write(1, line, sizeof line) < 0) break; }
    return CCHOST_PASS;
}

static int32_t odd_verdict(void *u, const cchost_call *c, cchost_buffer *d) {
    (void)u; (void)c; (void)d;
    return 42;
}

static const cchost_check checks[] = {
    {.name = "segfault", .tiers = "install", .run = segfault},
    {.name = "hang", .tiers = "install", .run = hang},
    {.name = "noisy", .tiers = "install", .run = noisy},
    {.name = "odd-verdict", .tiers = "install", .run = odd_verdict},
};

static const cchost_plugin plugin = {
    CCHOST_PLUGIN_HEADER,
    .name = "misbehaving",
    .version = "0.0.1",
    .initialize = initialize,
    .metadata = metadata,
    .free_buffer = release,
    .check_count = sizeof checks / sizeof checks[0],
    .checks = checks,
};

const cchost_plugin *cchost_plugin_v1(void) { return &plugin; }
