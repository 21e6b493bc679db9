import CWorkerSystem
import Glibc
import PluginChannel

/// What the worker does to itself before it loads any plugin code: resource limits, no core dumps,
/// death with its parent, and a syscall filter. It complements the bubblewrap sandbox (namespaces,
/// filesystem) and still holds under the development-only `--no-sandbox`.
///
/// Given as `--confine as=BYTES,cpu=SECONDS,nofile=N,nproc=N,fsize=BYTES`.
struct Confinement {
    var limits: [(resource: Int32, name: String, value: rlim_t)] = []

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    init(parsing spec: String) throws(Invalid) {
        let resources: [String: Int32] = [
            "as": Int32(RLIMIT_AS.rawValue), "cpu": Int32(RLIMIT_CPU.rawValue),
            "nofile": Int32(RLIMIT_NOFILE.rawValue), "nproc": cchost_rlimit_nproc(),
            "fsize": Int32(RLIMIT_FSIZE.rawValue),
        ]
        for part in spec.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, let resource = resources[pair[0]], let value = UInt64(pair[1]) else {
                throw Invalid(description: "--confine: \"\(part)\" is not NAME=NUMBER with NAME one of \(resources.keys.sorted().joined(separator: ", "))")
            }
            limits.append((resource, pair[0], rlim_t(value)))
        }
        // Never a core dump: it could hold whatever the plugin had in memory.
        limits.append((Int32(RLIMIT_CORE.rawValue), "core", 0))
    }

    func apply() throws(Invalid) {
        for limit in limits {
            var value = rlimit(rlim_cur: limit.value, rlim_max: limit.value)
            guard setrlimit(__rlimit_resource_t(UInt32(limit.resource)), &value) == 0 else {
                throw Invalid(description: "setrlimit \(limit.name)=\(limit.value): \(String(cString: strerror(errno)))")
            }
        }
        // Die with the host (or the sandbox's init), and let nothing attach to this process.
        guard cchost_die_with_parent() == 0, cchost_not_dumpable() == 0 else {
            throw Invalid(description: "prctl: \(String(cString: strerror(errno)))")
        }
        try installSyscallFilter()
    }

    /// Plugins reach the world only through the host table, so they need no processes, no programs,
    /// no network sockets and no kernel administration. Threads stay allowed (clone with
    /// CLONE_THREAD); clone3 answers ENOSYS so that libc falls back to clone, which can be filtered.
    private func installSyscallFilter() throws(Invalid) {
        guard let filter = seccomp_init(cchost_seccomp_allow()) else { throw Invalid(description: "seccomp_init failed") }
        defer { seccomp_release(filter) }
        var status: Int32 = 0
        status |= cchost_seccomp_deny_unless_flag(filter, EPERM, "clone", cchost_clone_thread())
        status |= cchost_seccomp_deny(filter, ENOSYS, "clone3")
        for name in ["fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
                     "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "bpf", "perf_event_open",
                     "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
                     "swapon", "swapoff", "keyctl", "add_key", "request_key", "io_uring_setup", "userfaultfd",
                     "open_by_handle_at", "name_to_handle_at"] {
            status |= cchost_seccomp_deny(filter, EPERM, name)
        }
        for family in [AF_INET, AF_INET6, AF_PACKET, AF_NETLINK] {
            status |= cchost_seccomp_deny_if_arg0(filter, EPERM, "socket", UInt64(family))
        }
        guard status == 0 else { throw Invalid(description: "a seccomp rule could not be added (status \(status))") }
        // libseccomp sets no_new_privs before loading, so the filter cannot be shed by exec'ing anything.
        guard seccomp_load(filter) == 0 else { throw Invalid(description: "seccomp_load failed") }
    }
}
