/* One plugin source, many ways of getting the ABI wrong. The tests compile it with -D flags:
 *   MAGIC=, ABI_MAJOR=, ABI_MINOR=, STRUCT_SIZE=   override a fixed header field
 *   NO_ENTRY          export no cchost_plugin_v1
 *   NULL_DESCRIPTOR   cchost_plugin_v1 returns NULL
 *   NO_INITIALIZE     leave the required initialize function NULL
 *   NO_FREE_BUFFER    leave the required free_buffer function NULL
 *   UNDEFINED_SYMBOL  reference a function no library defines (fails under RTLD_NOW)
 *   BAD_SIGNATURE     a typed check whose signature uses an unsupported type
 *   BOTH_FORMS        a check that sets both run and typed
 *   BAD_TIER          a check for a tier that does not exist
 *   INIT_FAILS        initialize returns an error
 *   BAD_METADATA      metadata that is JSON but not valid metadata
 */
#include "cchost_plugin.h"

#include <stdlib.h>
#include <string.h>

#ifndef MAGIC
#define MAGIC CCHOST_PLUGIN_MAGIC
#endif
#ifndef ABI_MAJOR
#define ABI_MAJOR CCHOST_ABI_MAJOR
#endif
#ifndef ABI_MINOR
#define ABI_MINOR CCHOST_ABI_MINOR
#endif
#ifndef STRUCT_SIZE
#define STRUCT_SIZE sizeof(cchost_plugin)
#endif

static void fill(cchost_buffer *b, const char *text) {
    b->len = strlen(text);
    b->data = malloc(b->len);
    memcpy(b->data, text, b->len);
}

static void release(cchost_buffer *b) { free(b->data); b->data = NULL; b->len = 0; }

#ifdef UNDEFINED_SYMBOL
extern int cchost_fixture_function_nobody_defines(void);
#endif

static int32_t initialize(const cchost_host_table *host, cchost_buffer *error) {
    (void)host;
#ifdef UNDEFINED_SYMBOL
    return cchost_fixture_function_nobody_defines();
#endif
#ifdef INIT_FAILS
    fill(error, "the fixture refuses to start");
    return 7;
#endif
    (void)error;
    return 0;
}

static int32_t metadata(cchost_buffer *out) {
#ifdef BAD_METADATA
    fill(out, "{\"recipes\": [\"Bad Name\"], \"stages\": [\"instal\"], \"canonical_sweep\": \"yes\", \"colour\": 1}");
#else
    fill(out, "{\"recipes\": [\"fixture\"]}");
#endif
    return 0;
}

static int32_t pass(void *user_data, const cchost_call *call, cchost_buffer *detail) {
    (void)user_data; (void)call; (void)detail;
    return CCHOST_PASS;
}

static int typed_check(long double x) { (void)x; return 0; }

static const cchost_check checks[] = {
#if defined(BAD_SIGNATURE)
    {.name = "typed", .tiers = "install", .typed = (void (*)(void))typed_check, .signature = "int typed(long double x)"},
#elif defined(BOTH_FORMS)
    {.name = "both", .tiers = "install", .run = pass, .typed = (void (*)(void))typed_check, .signature = "int both(int x)"},
#elif defined(BAD_TIER)
    {.name = "plain", .tiers = "install,deploy", .run = pass},
#elif defined(HOSTILE_TEXT)
    /* ESC (clear the screen), CR, BEL and RIGHT-TO-LEFT OVERRIDE in what `plugins inspect` prints. */
    {.name = "plain", .tiers = "install", .run = pass, .description = "says \x1b[2J\r\a\xe2\x80\xae" "gone"},
#else
    {.name = "plain", .tiers = "install", .run = pass},
#endif
};

static const cchost_plugin plugin = {
    .magic = MAGIC,
    .abi_major = ABI_MAJOR,
    .abi_minor = ABI_MINOR,
    .struct_size = (uint32_t)(STRUCT_SIZE),
    .name = "abi-variant",
    .version = "0.0.1",
#ifndef NO_INITIALIZE
    .initialize = initialize,
#endif
    .metadata = metadata,
#ifndef NO_FREE_BUFFER
    .free_buffer = release,
#endif
    .check_count = 1,
    .checks = checks,
};

#ifndef NO_ENTRY
const cchost_plugin *cchost_plugin_v1(void) {
#ifdef NULL_DESCRIPTOR
    return NULL;
#else
    return &plugin;
#endif
}
#endif
