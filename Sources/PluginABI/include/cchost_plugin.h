/*
 * cchost plugin ABI, version 1.
 *
 * This header is the whole contract between cchost and a plugin. Nothing else crosses the boundary:
 * a plugin links no host symbols and includes nothing of cchost but this file.
 *
 * Life of a plugin (always inside `cchost-worker`, never inside the host process):
 *   1. dlopen(path, RTLD_NOW | RTLD_LOCAL); the library is never closed.
 *   2. `cchost_plugin_v1()` is called once and returns the plugin's descriptor.
 *   3. The worker checks the descriptor's first four fields (magic, abi_major, abi_minor, struct_size)
 *      before it reads anything else; a mismatch rejects the plugin and names every differing field.
 *   4. `initialize(host)` receives the host function table; the plugin keeps the pointer for later calls.
 *   5. `metadata()` returns a JSON object describing the plugin (see "Metadata" below).
 *   6. The host then calls install steps, pre-op hooks and checks by name, one at a time.
 *
 * Compatibility rules:
 *   - `abi_major` changes only when existing fields change meaning; a worker rejects any other major.
 *   - `abi_minor` grows when fields are appended to the END of a struct. A worker rejects a plugin
 *     whose minor is newer than its own. A plugin may be older: the worker reads only the fields that
 *     `struct_size` covers.
 *   - The host table likewise only grows at its end; its first field is its size, so a plugin can
 *     tell which slots exist (CCHOST_HOST_HAS(host, field)).
 *
 * Memory: only C types and owned byte buffers cross. Each side frees what it allocated:
 *   - buffers a plugin fills for the host (metadata, check details) are released by the worker
 *     through the descriptor's `free_buffer`;
 *   - buffers the host fills for a plugin (exec output, HTTP bodies, app info, config values) are
 *     released by the plugin through `host->buffer_free`.
 * Strings are UTF-8; a `cchost_buffer` is not NUL-terminated unless stated.
 */
#ifndef CCHOST_PLUGIN_H
#define CCHOST_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "CCHP" read as a big-endian 32-bit number. */
#define CCHOST_PLUGIN_MAGIC 0x43434850u
#define CCHOST_ABI_MAJOR 1u
#define CCHOST_ABI_MINOR 0u

/* The name of the one symbol every plugin exports: `const cchost_plugin *cchost_plugin_v1(void)`. */
#define CCHOST_PLUGIN_ENTRY "cchost_plugin_v1"

/* ---------------------------------------------------------------------------------------------- */
/* Owned byte buffers                                                                             */
/* ---------------------------------------------------------------------------------------------- */

/* An owned run of bytes. `data` was allocated by whichever side filled the buffer (see Memory). */
typedef struct cchost_buffer {
    uint8_t *data; /* NULL when len == 0 */
    size_t len;
} cchost_buffer;

/* ---------------------------------------------------------------------------------------------- */
/* Verdicts                                                                                       */
/* ---------------------------------------------------------------------------------------------- */

/* What a check, install step or hook returns. CCHOST_PLUGIN_ERROR, or any value not listed here,
 * means the check could not be evaluated: the host records it as `unverified` with the detail (or
 * the returned value) as its cause, never as a pass or a fail. */
typedef enum cchost_verdict {
    CCHOST_PLUGIN_ERROR = -1, /* could not evaluate (a host call failed, bad data); say why in detail */
    CCHOST_PASS = 0,
    CCHOST_FAIL = 1,
    CCHOST_SKIP = 2 /* intentional: this check does not apply here; say why in the detail */
} cchost_verdict;

/* ---------------------------------------------------------------------------------------------- */
/* Host function table (host -> plugin)                                                           */
/* ---------------------------------------------------------------------------------------------- */

/* What host functions return. On anything but CCHOST_HOST_OK, the `out` buffer (when there is one)
 * holds a human-readable reason, which the plugin frees like any other host buffer. */
typedef enum cchost_host_status {
    CCHOST_HOST_OK = 0,
    CCHOST_HOST_REFUSED = -1,     /* the host's policy forbids this call (another stack, a size cap) */
    CCHOST_HOST_FAILED = -2,      /* the call was allowed but did not succeed (exec never started) */
    CCHOST_HOST_UNAVAILABLE = -3, /* nothing to act on here (no app is deployed during a probe) */
    CCHOST_HOST_INVALID = -4      /* malformed arguments (NULL name, bad method) */
} cchost_host_status;

typedef enum cchost_log_level {
    CCHOST_LOG_DEBUG = 0,
    CCHOST_LOG_INFO = 1,
    CCHOST_LOG_WARNING = 2,
    CCHOST_LOG_ERROR = 3
} cchost_log_level;

typedef struct cchost_host_table {
    /* sizeof(cchost_host_table) as the host was built; test a slot with CCHOST_HOST_HAS. */
    uint32_t size;
    /* The ABI minor the host was built with. */
    uint32_t abi_minor;

    /* Write a line to the run's log, attributed to this plugin and the current call. */
    void (*log)(int32_t level, const char *message);

    /* Run `argv` (NULL-terminated) in a container of `service` of the app under test, e.g. "app" or
     * "db". Waits for it to finish; `exit_code` receives its status; `output` receives stdout followed
     * by stderr (capped by the host). The host re-resolves the container and retries until its
     * deadline; CCHOST_HOST_FAILED means it never ran, which is never the same as empty output. */
    int32_t (*exec)(const char *service, const char *const *argv, int32_t *exit_code,
                    cchost_buffer *output);

    /* An HTTP request to the app under test. `path` is relative to the app's domain ("/", "/login");
     * the host chooses the address, so a plugin can reach nothing else. `body` may be NULL.
     * `status` receives the HTTP status, `response` the body (capped by the host). */
    int32_t (*http)(const char *method, const char *path, const char *body, int32_t *status,
                    cchost_buffer *response);

    /* A JSON object describing the app under test: {"recipe", "domain", "stack", "services",
     * "labels", "base_version", "head_version", "head_ref" (the full commit under test), "tier",
     * and from the backup tier on "backup": {"marker", "files": [{"service", "path"}]}}. */
    int32_t (*app_info)(cchost_buffer *out);

    /* A configuration value for this plugin and recipe (e.g. "admin_user"), as UTF-8 text.
     * CCHOST_HOST_UNAVAILABLE when the key is not set. */
    int32_t (*config)(const char *key, cchost_buffer *out);

    /* Store bytes as an artifact of the current run under `name` (a plain file name; the host
     * sanitises it and caps the size). */
    int32_t (*artifact_write)(const char *name, const uint8_t *data, size_t len);

    /* Release a buffer the host filled. Safe on an empty buffer. */
    void (*buffer_free)(cchost_buffer *buffer);
} cchost_host_table;

/* True when the host table has the slot `field` (older hosts have shorter tables). */
#define CCHOST_HOST_HAS(host, field) \
    ((host) != NULL && (host)->size >= offsetof(cchost_host_table, field) + sizeof((host)->field) && \
     (host)->field != NULL)

/* ---------------------------------------------------------------------------------------------- */
/* Checks, install steps and hooks (plugin -> host)                                               */
/* ---------------------------------------------------------------------------------------------- */

/* What the host says about the current call. */
typedef struct cchost_call {
    const char *name; /* the check, step or hook being called */
    const char *tier; /* "install", "upgrade", "backup", "restore", "custom", or "" outside a tier */
} cchost_call;

/* The plain form: everything through the host table. Fill `detail` (allocated with the plugin's own
 * allocator, released through the descriptor's `free_buffer`) to say why; return a cchost_verdict.
 * `user_data` is the entry's own `user_data`, handed back unchanged. */
typedef int32_t (*cchost_entry_fn)(void *user_data, const cchost_call *call, cchost_buffer *detail);

/* A check. Exactly one of `run` and `typed` is set.
 *
 * Typed checks declare a plain C signature and are called through libffi, with each argument bound
 * by parameter name from the recipe's configuration for this check. One compiled check can so serve
 * many recipes with different parameters. Supported parameter types: `int`, `int32_t`, `int64_t`,
 * `long`, `double`, `bool`, `const char *`. The return type is `int` (a cchost_verdict).
 * Example: signature "int http_expect(const char *path, int status, const char *needle)". */
typedef struct cchost_check {
    const char *name;        /* unique within the plugin: [a-z0-9][a-z0-9_.-]* */
    const char *tiers;       /* comma-separated tiers it evaluates after, e.g. "install,upgrade" */
    const char *description; /* one sentence for reports; may be NULL */
    cchost_entry_fn run;     /* the plain form, or NULL */
    void *user_data;         /* handed to `run` */
    void (*typed)(void);     /* the typed form (cast to this type for storage), or NULL */
    const char *signature;   /* the typed form's C signature, required with `typed` */
} cchost_check;

/* An install step (run once, right after the first deploy) or a pre-op hook (run before the op of
 * each tier it names). */
typedef struct cchost_step {
    const char *name;
    const char *tiers;       /* hooks: the tiers whose op it precedes; install steps: NULL */
    const char *description; /* may be NULL */
    cchost_entry_fn run;
    void *user_data;
} cchost_step;

/* ---------------------------------------------------------------------------------------------- */
/* The descriptor                                                                                 */
/* ---------------------------------------------------------------------------------------------- */

typedef struct cchost_plugin {
    /* Fixed for every ABI version: checked before anything else is read. */
    uint32_t magic;       /* CCHOST_PLUGIN_MAGIC */
    uint32_t abi_major;   /* CCHOST_ABI_MAJOR */
    uint32_t abi_minor;   /* CCHOST_ABI_MINOR the plugin was built with */
    uint32_t struct_size; /* sizeof(cchost_plugin) as the plugin was built */

    const char *name;    /* the plugin's name: [a-z0-9][a-z0-9_.-]* (required) */
    const char *version; /* the plugin's own version, free-form (required) */

    /* Required. Called once before anything else; keep `host` for later calls. Return 0 on success;
     * otherwise fill `error` with the reason (released through `free_buffer`). */
    int32_t (*initialize)(const cchost_host_table *host, cchost_buffer *error);

    /* Required. Fill `out` with the metadata JSON object; return 0, or non-zero with a reason. */
    int32_t (*metadata)(cchost_buffer *out);

    /* Required. Release a buffer this plugin filled. */
    void (*free_buffer)(cchost_buffer *buffer);

    size_t check_count;
    const cchost_check *checks;
    size_t install_step_count;
    const cchost_step *install_steps;
    size_t hook_count;
    const cchost_step *hooks;

    /* Fields of later minors go here, at the end. A worker reads only the fields a plugin's
     * `struct_size` covers and treats the rest as absent (zero). */
#ifdef CCHOST_ABI_TEST_APPENDED_FIELD
    /* TEST ONLY, never part of the ABI: scripts/test builds a worker with this field appended and no
     * minor bump, to prove that a worker with a longer descriptor still loads v1.0 plugins. */
    const void *test_appended_field;
#endif
} cchost_plugin;

/* The size of the v1.0 descriptor: the least `struct_size` a plugin of minor 0 may declare.
 * (An enum constant rather than a macro, so the worker's Swift sees it too.) */
enum { CCHOST_PLUGIN_SIZE_V1_0 = offsetof(cchost_plugin, hooks) + sizeof(const cchost_step *) };

/* Every plugin defines this one function. */
typedef const cchost_plugin *(*cchost_plugin_entry)(void);

/* Helper for C plugins: the four fixed fields, filled for this header's version. */
#define CCHOST_PLUGIN_HEADER \
    .magic = CCHOST_PLUGIN_MAGIC, .abi_major = CCHOST_ABI_MAJOR, .abi_minor = CCHOST_ABI_MINOR, \
    .struct_size = (uint32_t)sizeof(cchost_plugin)

/*
 * Metadata (the JSON object `metadata()` returns). Every key is optional but "recipes":
 * {
 *   "recipes": ["gitea"],            recipes served; ["*"] serves every recipe (the generic suite)
 *   "canonical_sweep": true,         enrol these recipes in the scheduled canonical sweep
 *   "stages": ["install", "upgrade", "backup", "restore"],   tiers this recipe supports
 *   "expected_na": ["backup"],       tiers expected to be n/a (not reported as surprises)
 *   "skip_generic": false,           opt out of the generic suite (reported in every run)
 *   "timeouts": {"deploy": 600, "check": 60},   seconds
 *   "readiness": {"path": "/", "status": 200},  the HTTP probe that says the app is ready
 *   "env": {"LETS_ENCRYPT_ENV": "staging"},      extra env for the app under test
 *   "depends_on": ["authentik"],                 recipes deployed beside this one
 *   "config": {"check_name": {"param": value}}   default arguments for typed checks
 * }
 */

#ifdef __cplusplus
}
#endif

#endif /* CCHOST_PLUGIN_H */
