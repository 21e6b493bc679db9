/* The hostile corpus: a plugin whose every check tries one bad thing. A check returns CCHOST_PASS
 * when the attempt was stopped and CCHOST_FAIL when it got through, with what happened in its detail.
 * Constructor variants, chosen with -D: CRASH_IN_CONSTRUCTOR (segfault), EXIT_IN_CONSTRUCTOR (exit(0)),
 * LOOP_IN_CONSTRUCTOR (spin forever). Paths and ports come from the host's config lookups. */
#include "cchost_plugin.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef CRASH_IN_CONSTRUCTOR
__attribute__((constructor)) static void crash_on_load(void) {
    volatile int *nowhere = NULL;
    *nowhere = 1;
}
#endif
#ifdef EXIT_IN_CONSTRUCTOR
__attribute__((constructor)) static void exit_on_load(void) { exit(0); }
#endif
#ifdef LOOP_IN_CONSTRUCTOR
__attribute__((constructor)) static void loop_on_load(void) {
    for (volatile unsigned long i = 0;; i++) {}
}
#endif

static const cchost_host_table *host;

static void release(cchost_buffer *b) { free(b->data); b->data = NULL; b->len = 0; }

static void say(cchost_buffer *detail, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void say(cchost_buffer *detail, const char *format, ...) {
    char text[1024];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(text, sizeof text, format, args);
    va_end(args);
    if (n < 0) return;
    if ((size_t)n >= sizeof text) n = sizeof text - 1;
    detail->data = malloc((size_t)n);
    detail->len = (size_t)n;
    memcpy(detail->data, text, (size_t)n);
}

/* A config value from the host, or "" when unset. */
static void config(const char *key, char *out, size_t size) {
    cchost_buffer value = {0};
    out[0] = '\0';
    if (host->config(key, &value) == CCHOST_HOST_OK && value.len < size) {
        memcpy(out, value.data, value.len);
        out[value.len] = '\0';
    }
    host->buffer_free(&value);
}

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

#define CHECK(name) static int32_t name(void *u, const cchost_call *c, cchost_buffer *detail)
#define UNUSED (void)u; (void)c; (void)detail

CHECK(segfault) { UNUSED; volatile int *nowhere = NULL; *nowhere = 1; return CCHOST_PASS; }
CHECK(do_abort) { UNUSED; abort(); }
CHECK(hang) { UNUSED; for (;;) pause(); return CCHOST_FAIL; }
CHECK(spin) { UNUSED; for (volatile unsigned long i = 0;; i++) {} return CCHOST_FAIL; }
CHECK(odd_verdict) { UNUSED; return 42; }

CHECK(fork_bomb) {
    (void)u; (void)c;
    int children = 0;
    for (int i = 0; i < 100000; i++) {
        pid_t pid = fork();
        if (pid == 0) { for (;;) pause(); }
        if (pid < 0) {
            say(detail, "fork failed after %d children: %s", children, strerror(errno));
            return children == 0 ? CCHOST_PASS : CCHOST_FAIL;
        }
        children++;
    }
    say(detail, "forked %d children", children);
    return CCHOST_FAIL;
}

CHECK(allocate) {
    (void)u; (void)c;
    size_t chunk = 64u << 20, total = 0;
    while (total < (size_t)16 << 30) {
        char *block = malloc(chunk);
        if (block == NULL) break;
        memset(block, 0xa5, chunk); /* touch it: really use the memory */
        total += chunk;
    }
    say(detail, "allocated %zu MiB before malloc failed", total >> 20);
    return total < ((size_t)16 << 30) ? CCHOST_PASS : CCHOST_FAIL;
}

CHECK(huge_file) {
    (void)u; (void)c;
    int fd = open("/tmp/cchost-hostile-huge", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { say(detail, "open: %s", strerror(errno)); return CCHOST_PASS; }
    static char block[1 << 20];
    memset(block, 'h', sizeof block);
    size_t written = 0;
    while (written < ((size_t)4 << 30)) {
        ssize_t n = write(fd, block, sizeof block);
        if (n <= 0) { say(detail, "stopped after %zu MiB: %s", written >> 20, strerror(errno)); return CCHOST_PASS; }
        written += (size_t)n;
    }
    say(detail, "wrote %zu MiB", written >> 20);
    return CCHOST_FAIL;
}

CHECK(flood) {
    UNUSED;
    static char block[1 << 16];
    memset(block, 'f', sizeof block);
    block[sizeof block - 1] = '\n';
    for (size_t total = 0; total < ((size_t)1 << 30); total += sizeof block) {
        if (write(total % 2 ? 1 : 2, block, sizeof block) < 0) break;
    }
    return CCHOST_PASS;
}

CHECK(noisy) {
    UNUSED;
    char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 8192; i++) { if (write(1, line, sizeof line) < 0) break; }
    return CCHOST_PASS;
}

CHECK(connect_loopback) {
    (void)u; (void)c;
    char port[32];
    config("port", port, sizeof port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { say(detail, "socket: %s", strerror(errno)); return CCHOST_PASS; }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        say(detail, "connect: %s", strerror(errno));
        return CCHOST_PASS;
    }
    say(detail, "connected to 127.0.0.1:%s", port);
    return CCHOST_FAIL;
}

CHECK(read_file) {
    (void)u; (void)c;
    char path[512];
    config("path", path, sizeof path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) { say(detail, "open %s: %s", path, strerror(errno)); return CCHOST_PASS; }
    char content[256] = {0};
    ssize_t n = read(fd, content, sizeof content - 1);
    say(detail, "read %zd bytes: %s", n, content);
    return CCHOST_FAIL;
}

CHECK(docker_socket) {
    (void)u; (void)c;
    const char *sockets[] = {"/var/run/docker.sock", "/run/docker.sock"};
    for (size_t i = 0; i < 2; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un address = {.sun_family = AF_UNIX};
        strncpy(address.sun_path, sockets[i], sizeof address.sun_path - 1);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) == 0) {
            say(detail, "connected to %s", sockets[i]);
            return CCHOST_FAIL;
        }
    }
    say(detail, "no docker socket: %s", strerror(errno));
    return CCHOST_PASS;
}

CHECK(write_outside) {
    (void)u; (void)c;
    char outside[512];
    config("outside", outside, sizeof outside);
    const char *paths[] = {outside, "/cchost/escape", "/usr/lib/escape", "/escape", "/proc/escape", "/dev/escape"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int fd = open(paths[i], O_WRONLY | O_CREAT, 0600);
        if (fd >= 0) { say(detail, "created %s", paths[i]); return CCHOST_FAIL; }
    }
    int inside = open("/tmp/inside", O_WRONLY | O_CREAT, 0600);
    say(detail, "every path outside /tmp refused; /tmp %s", inside >= 0 ? "writable" : strerror(errno));
    return inside >= 0 ? CCHOST_PASS : CCHOST_FAIL;
}

/* The channel descriptors are somewhere above stderr; write to all of them. */
static void write_to_channel(const void *bytes, size_t len) {
    for (int fd = 3; fd < 32; fd++) { if (write(fd, bytes, len) < 0) continue; }
}

CHECK(garbage_frame) {
    UNUSED;
    static const char frame[] = {0, 0, 0, 9, 'n', 'o', 't', ' ', 'j', 's', 'o', 'n', '!'};
    write_to_channel(frame, sizeof frame);
    for (;;) pause();
    return CCHOST_FAIL;
}

CHECK(oversized_frame) {
    UNUSED;
    static const unsigned char header[] = {0x10, 0, 0, 0};
    write_to_channel(header, sizeof header);
    for (;;) pause();
    return CCHOST_FAIL;
}

CHECK(exec_other_stack) {
    (void)u; (void)c;
    const char *argv[] = {"id", NULL};
    int32_t exit_code = -1;
    cchost_buffer out = {0};
    int32_t status = host->exec("other_stack_app", argv, &exit_code, &out);
    say(detail, "%d|%.*s", status, (int)out.len, (const char *)out.data);
    host->buffer_free(&out);
    return status == CCHOST_HOST_REFUSED ? CCHOST_PASS : CCHOST_FAIL;
}

static const cchost_check checks[] = {
    {.name = "segfault", .tiers = "install", .run = segfault},
    {.name = "abort", .tiers = "install", .run = do_abort},
    {.name = "hang", .tiers = "install", .run = hang},
    {.name = "spin", .tiers = "install", .run = spin},
    {.name = "odd-verdict", .tiers = "install", .run = odd_verdict},
    {.name = "fork-bomb", .tiers = "install", .run = fork_bomb},
    {.name = "allocate", .tiers = "install", .run = allocate},
    {.name = "huge-file", .tiers = "install", .run = huge_file},
    {.name = "flood", .tiers = "install", .run = flood},
    {.name = "noisy", .tiers = "install", .run = noisy},
    {.name = "connect-loopback", .tiers = "install", .run = connect_loopback},
    {.name = "read-file", .tiers = "install", .run = read_file},
    {.name = "docker-socket", .tiers = "install", .run = docker_socket},
    {.name = "write-outside", .tiers = "install", .run = write_outside},
    {.name = "garbage-frame", .tiers = "install", .run = garbage_frame},
    {.name = "oversized-frame", .tiers = "install", .run = oversized_frame},
    {.name = "exec-other-stack", .tiers = "install", .run = exec_other_stack},
};

static const cchost_plugin plugin = {
    CCHOST_PLUGIN_HEADER,
    .name = "hostile",
    .version = "0.0.1",
    .initialize = initialize,
    .metadata = metadata,
    .free_buffer = release,
    .check_count = sizeof checks / sizeof checks[0],
    .checks = checks,
};

const cchost_plugin *cchost_plugin_v1(void) { return &plugin; }
