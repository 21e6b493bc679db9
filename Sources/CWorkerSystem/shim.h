/* The system calls the worker makes about itself that Swift's Glibc module does not cover:
 * libseccomp, prctl and resource constants. */
#include <errno.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* Process settings whose constants Swift's Glibc module does not export. */
static inline int cchost_die_with_parent(void) { return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); }
static inline int cchost_not_dumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
static inline int cchost_rlimit_nproc(void) { return __RLIMIT_NPROC; }
static inline uint64_t cchost_clone_thread(void) { return CLONE_THREAD; }

/* libseccomp's action and comparison macros do not import into Swift; these wrap them. */
static inline uint32_t cchost_seccomp_errno(int error) { return SCMP_ACT_ERRNO((uint32_t)error); }
static inline uint32_t cchost_seccomp_allow(void) { return SCMP_ACT_ALLOW; }

/* Deny `syscall` with `error` when (first argument & mask) == 0, e.g. clone without CLONE_THREAD. */
static inline int cchost_seccomp_deny_unless_flag(scmp_filter_ctx ctx, int error, const char *name, uint64_t mask) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return 0; /* not a syscall on this architecture */
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)error), nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, mask, 0));
}

/* Deny `syscall` with `error` unconditionally. */
static inline int cchost_seccomp_deny(scmp_filter_ctx ctx, int error, const char *name) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return 0;
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)error), nr, 0);
}

/* Deny `syscall` with `error` when its first argument equals `value`, e.g. socket(AF_INET, ...). */
static inline int cchost_seccomp_deny_if_arg0(scmp_filter_ctx ctx, int error, const char *name, uint64_t value) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return 0;
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO((uint32_t)error), nr, 1, SCMP_A0(SCMP_CMP_EQ, value));
}
