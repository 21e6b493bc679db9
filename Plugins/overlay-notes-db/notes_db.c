/* The overlay for the notes-db fixture (Tests/Fixtures/recipes/notes-db), in C: it includes only the
 * ABI header and reaches the app only through the host table.
 *
 * - seed-note (install step): inserts a known note into the real SQLite database of the db service.
 * - seed-note-present (check, install/upgrade/restore): that note is in the database, exactly once.
 * - drop-seed-note (hook, before the restore op): deletes the note, so that seed-note-present after
 *   the restore passes only if the restore brought the database back.
 * - row-count-at-least (typed check, restore): a table holds at least `minimum` rows; its default
 *   arguments come from this plugin's metadata `config`.
 *
 * Build outside SwiftPM:  cc -shared -fPIC -I Sources/PluginABI/include notes_db.c -o notes_db.so
 */
#include "cchost_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATABASE "/data/notes.db"
#define SEED_TEXT "cchost-seed"

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
    if (!CCHOST_HOST_HAS(table, exec) || !CCHOST_HOST_HAS(table, buffer_free) || !CCHOST_HOST_HAS(table, log)) {
        fill(error, "this plugin needs a host with log, exec and buffer_free");
        return 1;
    }
    host = table;
    return 0;
}

static int32_t metadata(cchost_buffer *out) {
    fill(out, "{\"recipes\": [\"notes-db\"],"
              " \"stages\": [\"install\", \"upgrade\", \"backup\", \"restore\"],"
              " \"expected_na\": [],"
              " \"readiness\": {\"path\": \"/\", \"status\": 200},"
              " \"config\": {\"row-count-at-least\": {\"table\": \"notes\", \"minimum\": 1}}}");
    return 0;
}

/* Runs one SQL statement with sqlite3 in the db service. Returns the host status; on CCHOST_HOST_OK,
 * `*exit_code` is sqlite3's status and `text` (size `size`) its output, NUL-terminated and without
 * trailing whitespace; otherwise `text` holds the host's reason. */
static int32_t sql(const char *statement, int32_t *exit_code, char *text, size_t size) {
    const char *argv[] = {"sqlite3", DATABASE, statement, NULL};
    cchost_buffer output = {0};
    *exit_code = -1;
    int32_t status = host->exec("db", argv, exit_code, &output);
    size_t n = output.len < size - 1 ? output.len : size - 1;
    if (n > 0) memcpy(text, output.data, n);
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '\t')) text[--n] = '\0';
    host->buffer_free(&output);
    return status;
}

/* A whole non-negative number, or -1. */
static long parse_count(const char *text) {
    if (text[0] < '0' || text[0] > '9') return -1;
    char *end = NULL;
    long value = strtol(text, &end, 10);
    return end != NULL && *end == '\0' ? value : -1;
}

/* The install step: insert the known note. */
static int32_t seed_note(void *user_data, const cchost_call *call, cchost_buffer *detail) {
    (void)user_data; (void)call;
    char text[512], message[700];
    int32_t code;
    int32_t status = sql("insert into notes(body) values('" SEED_TEXT "')", &code, text, sizeof text);
    if (status != CCHOST_HOST_OK) {
        snprintf(message, sizeof message, "exec in db did not run (host status %d): %s", status, text);
        fill(detail, message);
        return CCHOST_PLUGIN_ERROR;
    }
    if (code != 0) {
        snprintf(message, sizeof message, "inserting the seed note exited %d: %s", code, text);
        fill(detail, message);
        return CCHOST_FAIL;
    }
    fill(detail, "inserted the note '" SEED_TEXT "' into " DATABASE);
    return CCHOST_PASS;
}

/* The check: the seed note is in the database exactly once. */
static int32_t seed_note_present(void *user_data, const cchost_call *call, cchost_buffer *detail) {
    (void)user_data; (void)call;
    char text[512], message[700];
    int32_t code;
    int32_t status = sql("select count(*) from notes where body='" SEED_TEXT "'", &code, text, sizeof text);
    if (status != CCHOST_HOST_OK) {
        snprintf(message, sizeof message, "exec in db did not run (host status %d): %s", status, text);
        fill(detail, message);
        return CCHOST_PLUGIN_ERROR;
    }
    if (code != 0) {
        snprintf(message, sizeof message, "counting the seed note exited %d: %s", code, text);
        fill(detail, message);
        return CCHOST_FAIL;
    }
    if (strcmp(text, "1") != 0) {
        snprintf(message, sizeof message, "expected the note '" SEED_TEXT "' once in " DATABASE ", found \"%s\"", text);
        fill(detail, message);
        return CCHOST_FAIL;
    }
    fill(detail, "the note '" SEED_TEXT "' is in " DATABASE " once");
    return CCHOST_PASS;
}

/* The hook before the restore op: delete the note, so only the restore can bring it back. */
static int32_t drop_seed_note(void *user_data, const cchost_call *call, cchost_buffer *detail) {
    (void)user_data; (void)call;
    char text[512], message[700];
    int32_t code;
    int32_t status = sql("delete from notes where body='" SEED_TEXT "'", &code, text, sizeof text);
    if (status != CCHOST_HOST_OK || code != 0) {
        snprintf(message, sizeof message, "deleting the seed note failed (host status %d, exit %d): %s", status, code, text);
        fill(detail, message);
        return status != CCHOST_HOST_OK ? CCHOST_PLUGIN_ERROR : CCHOST_FAIL;
    }
    fill(detail, "deleted the note '" SEED_TEXT "' before the restore");
    return CCHOST_PASS;
}

/* A plain SQL identifier: letters, digits and underscores, not starting with a digit. */
static int is_identifier(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 64 || (name[0] >= '0' && name[0] <= '9')) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0;
    }
    return 1;
}

/* The typed check: the worker binds `table` and `minimum` by name (defaults: metadata `config`) and
 * calls this through libffi. It has no detail buffer; what it logs becomes the check's detail. */
static int row_count_at_least(const char *table, int minimum) {
    char statement[128], text[512], message[700];
    int32_t code;
    if (table == NULL || !is_identifier(table)) {
        host->log(CCHOST_LOG_ERROR, "parameter table is not a plain SQL table name");
        return CCHOST_PLUGIN_ERROR;
    }
    snprintf(statement, sizeof statement, "select count(*) from \"%s\"", table);
    int32_t status = sql(statement, &code, text, sizeof text);
    if (status != CCHOST_HOST_OK) {
        snprintf(message, sizeof message, "exec in db did not run (host status %d): %s", status, text);
        host->log(CCHOST_LOG_ERROR, message);
        return CCHOST_PLUGIN_ERROR;
    }
    long count = code == 0 ? parse_count(text) : -1;
    if (count < 0) {
        snprintf(message, sizeof message, "counting rows of %s failed (exit %d): %s", table, code, text);
        host->log(CCHOST_LOG_WARNING, message);
        return CCHOST_FAIL;
    }
    snprintf(message, sizeof message, "table %s has %ld row(s), expected at least %d", table, count, minimum);
    host->log(count >= minimum ? CCHOST_LOG_INFO : CCHOST_LOG_WARNING, message);
    return count >= minimum ? CCHOST_PASS : CCHOST_FAIL;
}

static const cchost_check checks[] = {
    {.name = "seed-note-present", .tiers = "install,upgrade,restore",
     .description = "the note seeded at install is in the database exactly once", .run = seed_note_present},
    {.name = "row-count-at-least", .tiers = "restore", .description = "a table holds at least a minimum of rows",
     .typed = (void (*)(void))row_count_at_least, .signature = "int row_count_at_least(const char *table, int minimum)"},
};

static const cchost_step install_steps[] = {
    {.name = "seed-note", .description = "inserts the note '" SEED_TEXT "' into the database", .run = seed_note},
};

static const cchost_step hooks[] = {
    {.name = "drop-seed-note", .tiers = "restore",
     .description = "deletes the seed note before the restore op, so only the restore can bring it back", .run = drop_seed_note},
};

static const cchost_plugin plugin = {
    CCHOST_PLUGIN_HEADER,
    .name = "overlay-notes-db",
    .version = "1.0.0",
    .initialize = initialize,
    .metadata = metadata,
    .free_buffer = release_buffer,
    .check_count = sizeof checks / sizeof checks[0],
    .checks = checks,
    .install_step_count = sizeof install_steps / sizeof install_steps[0],
    .install_steps = install_steps,
    .hook_count = sizeof hooks / sizeof hooks[0],
    .hooks = hooks,
};

const cchost_plugin *cchost_plugin_v1(void) { return &plugin; }
