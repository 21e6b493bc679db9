/* The overlay for the notes fixtures (Tests/Fixtures/recipes/notes-db on SQLite, notes-postgres on
 * PostgreSQL, notes-mariadb on MariaDB), in C: it includes only the ABI header and reaches the app
 * only through the host table. Which database it talks to, and with which client, follows from the
 * recipe under test (app info's "recipe"); everything else is the same for the three.
 *
 * - seed-note (install step): inserts a known note into the real database of the db service.
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

#define SEED_TEXT "cchost-seed"

/* A recipe's database: where it is (for details), the notes table's text column, and the command
 * that runs one SQL statement in the db service, printing bare values; the statement is appended as
 * its last argument. */
typedef struct notes_database {
    const char *recipe;
    const char *name;
    const char *column;
    const char *client[10];
} notes_database;

static const notes_database databases[] = {
    {"notes-db", "/data/notes.db", "body", {"sqlite3", "/data/notes.db", NULL}},
    /* Local connections in the db container need no password. */
    {"notes-postgres", "PostgreSQL database notes", "text",
     {"psql", "-U", "notes", "-d", "notes", "-v", "ON_ERROR_STOP=1", "-tAc", NULL}},
    /* The password is a secret file in the db container: a shell reads it there. */
    {"notes-mariadb", "MariaDB database notes", "text",
     {"sh", "-c", "exec mariadb -u \"$MARIADB_USER\" -p\"$(cat \"$MARIADB_PASSWORD_FILE\")\" -N -B -e \"$1\" \"$MARIADB_DATABASE\"",
      "sh", NULL}},
};

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
    if (!CCHOST_HOST_HAS(table, exec) || !CCHOST_HOST_HAS(table, app_info) || !CCHOST_HOST_HAS(table, buffer_free) ||
        !CCHOST_HOST_HAS(table, log)) {
        fill(error, "this plugin needs a host with log, exec, app_info and buffer_free");
        return 1;
    }
    host = table;
    return 0;
}

static int32_t metadata(cchost_buffer *out) {
    fill(out, "{\"recipes\": [\"notes-db\", \"notes-postgres\", \"notes-mariadb\"],"
              " \"stages\": [\"install\", \"upgrade\", \"backup\", \"restore\"],"
              " \"expected_na\": [],"
              " \"readiness\": {\"path\": \"/\", \"status\": 200},"
              " \"config\": {\"row-count-at-least\": {\"table\": \"notes\", \"minimum\": 1}}}");
    return 0;
}

/* The value of the first `"key": "text"` pair in the JSON `data` whose value is plain text (no
 * escapes), into `value`; "" when there is none. Enough for app info's recipe name. */
static void json_text(const uint8_t *data, size_t len, const char *key, char *value, size_t size) {
    size_t k = strlen(key);
    value[0] = '\0';
    for (size_t i = 0; i + k + 2 <= len; i++) {
        if (data[i] != '"' || memcmp(data + i + 1, key, k) != 0 || data[i + k + 1] != '"') continue;
        size_t j = i + k + 2;
        while (j < len && strchr(" \t\r\n", data[j]) != NULL) j++;
        if (j >= len || data[j] != ':') continue;
        for (j++; j < len && strchr(" \t\r\n", data[j]) != NULL; j++) {}
        if (j >= len || data[j] != '"') continue;
        size_t begin = ++j;
        while (j < len && data[j] != '"' && data[j] != '\\') j++;
        if (j >= len || data[j] != '"' || j - begin >= size) return;
        memcpy(value, data + begin, j - begin);
        value[j - begin] = '\0';
        return;
    }
}

/* The database of the recipe under test, or NULL with the reason in `why`. */
static const notes_database *database_under_test(char *why, size_t size) {
    cchost_buffer info = {0};
    char recipe[128] = "";
    int32_t status = host->app_info(&info);
    if (status == CCHOST_HOST_OK) json_text(info.data, info.len, "recipe", recipe, sizeof recipe);
    else snprintf(why, size, "app info did not answer (host status %d): %.*s", status, (int)(info.len > 200 ? 200 : info.len), (const char *)info.data);
    host->buffer_free(&info);
    if (status != CCHOST_HOST_OK) return NULL;
    for (size_t i = 0; i < sizeof databases / sizeof databases[0]; i++) {
        if (strcmp(databases[i].recipe, recipe) == 0) return &databases[i];
    }
    snprintf(why, size, "no notes database is known for the recipe \"%s\"", recipe);
    return NULL;
}

/* Runs one SQL statement in the db service of the recipe under test, with its client; `format` has
 * one %s, the notes table's text column. Returns CCHOST_PASS with the output in `text`
 * (NUL-terminated, without trailing whitespace) and the database in `*db`; otherwise
 * CCHOST_PLUGIN_ERROR (no known database, or exec never ran) or CCHOST_FAIL (the client exited
 * non-zero), with `text` saying why `doing` failed. */
static int32_t sql(const char *doing, const char *format, const notes_database **db, char *text, size_t size) {
    char why[300], statement[256], said[400];
    *db = database_under_test(why, sizeof why);
    if (*db == NULL) {
        snprintf(text, size, "%s: %s", doing, why);
        return CCHOST_PLUGIN_ERROR;
    }
    snprintf(statement, sizeof statement, format, (*db)->column);
    const char *argv[sizeof (*db)->client / sizeof (*db)->client[0] + 2];
    size_t n = 0;
    for (; (*db)->client[n] != NULL; n++) argv[n] = (*db)->client[n];
    argv[n++] = statement;
    argv[n] = NULL;

    cchost_buffer output = {0};
    int32_t code = -1;
    int32_t status = host->exec("db", argv, &code, &output);
    size_t len = output.len < sizeof said - 1 ? output.len : sizeof said - 1;
    if (len > 0) memcpy(said, output.data, len);
    said[len] = '\0';
    while (len > 0 && strchr(" \t\r\n", said[len - 1]) != NULL) said[--len] = '\0';
    host->buffer_free(&output);
    if (status != CCHOST_HOST_OK) {
        snprintf(text, size, "%s: exec in db did not run (host status %d): %s", doing, status, said);
        return CCHOST_PLUGIN_ERROR;
    }
    if (code != 0) {
        snprintf(text, size, "%s exited %d: %s", doing, code, said);
        return CCHOST_FAIL;
    }
    snprintf(text, size, "%s", said);
    return CCHOST_PASS;
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
    char text[700];
    const notes_database *db;
    int32_t verdict = sql("inserting the seed note", "insert into notes(%s) values('" SEED_TEXT "')", &db, text, sizeof text);
    if (verdict == CCHOST_PASS) snprintf(text, sizeof text, "inserted the note '" SEED_TEXT "' into %s", db->name);
    fill(detail, text);
    return verdict;
}

/* The check: the seed note is in the database exactly once. */
static int32_t seed_note_present(void *user_data, const cchost_call *call, cchost_buffer *detail) {
    (void)user_data; (void)call;
    char text[700], message[900];
    const notes_database *db;
    int32_t verdict = sql("counting the seed note", "select count(*) from notes where %s='" SEED_TEXT "'", &db, text, sizeof text);
    if (verdict != CCHOST_PASS) {
        fill(detail, text);
        return verdict;
    }
    if (strcmp(text, "1") != 0) {
        snprintf(message, sizeof message, "expected the note '" SEED_TEXT "' once in %s, found \"%s\"", db->name, text);
        fill(detail, message);
        return CCHOST_FAIL;
    }
    snprintf(message, sizeof message, "the note '" SEED_TEXT "' is in %s once", db->name);
    fill(detail, message);
    return CCHOST_PASS;
}

/* The hook before the restore op: delete the note, so only the restore can bring it back. */
static int32_t drop_seed_note(void *user_data, const cchost_call *call, cchost_buffer *detail) {
    (void)user_data; (void)call;
    char text[700];
    const notes_database *db;
    int32_t verdict = sql("deleting the seed note", "delete from notes where %s='" SEED_TEXT "'", &db, text, sizeof text);
    if (verdict == CCHOST_PASS) snprintf(text, sizeof text, "deleted the note '" SEED_TEXT "' before the restore");
    fill(detail, text);
    return verdict;
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
    char format[128], text[700], message[900];
    const notes_database *db;
    if (table == NULL || !is_identifier(table)) {
        host->log(CCHOST_LOG_ERROR, "parameter table is not a plain SQL table name");
        return CCHOST_PLUGIN_ERROR;
    }
    /* A plain identifier needs no quotes (and has no %): the same statement for every database. */
    snprintf(format, sizeof format, "select count(*) from %s", table);
    int32_t verdict = sql("counting rows", format, &db, text, sizeof text);
    long count = verdict == CCHOST_PASS ? parse_count(text) : -1;
    if (count < 0) {
        if (verdict == CCHOST_PASS) snprintf(message, sizeof message, "counting rows of %s answered \"%s\"", table, text);
        else snprintf(message, sizeof message, "%s", text);
        host->log(verdict == CCHOST_PLUGIN_ERROR ? CCHOST_LOG_ERROR : CCHOST_LOG_WARNING, message);
        return verdict == CCHOST_PLUGIN_ERROR ? CCHOST_PLUGIN_ERROR : CCHOST_FAIL;
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
