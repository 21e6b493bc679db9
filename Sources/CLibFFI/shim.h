#include <ffi.h>

/* libffi's type descriptors are mutable C globals; Swift 6 refuses to touch those directly, so
 * these return their (static, stable) addresses. */
static inline ffi_type *cchost_ffi_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *cchost_ffi_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *cchost_ffi_uint8(void) { return &ffi_type_uint8; }
static inline ffi_type *cchost_ffi_double(void) { return &ffi_type_double; }
static inline ffi_type *cchost_ffi_pointer(void) { return &ffi_type_pointer; }
