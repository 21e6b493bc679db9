import Glibc
import PluginABI
import PluginChannel

/// A plugin library loaded in this worker: the only place that reads a descriptor.
/// The library is opened with RTLD_NOW | RTLD_LOCAL (a missing symbol fails here, in the worker)
/// and never closed: code may still run from it (threads, atexit handlers).
enum LoadedPlugin {
    /// Opens and checks a plugin. Every problem found is reported, not just the first.
    static func load(path: String) -> Result<(cchost_plugin, [String: CSignature]), Rejection> {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            return .failure(Rejection(stage: .load, problems: [
                .init(field: "library", message: "cannot load \(path): \(why)")]))
        }
        guard let symbol = dlsym(handle, CCHOST_PLUGIN_ENTRY) else {
            return .failure(Rejection(stage: .entry, problems: [
                .init(field: CCHOST_PLUGIN_ENTRY, expected: "an exported function", found: "missing symbol",
                      message: "\(path) does not export \(CCHOST_PLUGIN_ENTRY)")]))
        }
        let entry = unsafeBitCast(symbol, to: cchost_plugin_entry.self)
        guard let descriptor = entry() else {
            return .failure(Rejection(stage: .entry, problems: [
                .init(field: CCHOST_PLUGIN_ENTRY, expected: "a descriptor", found: "NULL",
                      message: "\(CCHOST_PLUGIN_ENTRY)() returned NULL")]))
        }
        let header = checkFixedHeader(UnsafeRawPointer(descriptor))
        guard header.isEmpty else { return .failure(Rejection(stage: .abi, problems: header)) }
        let plugin = covered(UnsafeRawPointer(descriptor))
        var problems = checkRequiredFields(plugin)
        var signatures: [String: CSignature] = [:]
        problems += checkEntries(plugin, signatures: &signatures)
        guard problems.isEmpty else { return .failure(Rejection(stage: .abi, problems: problems)) }
        return .success((plugin, signatures))
    }

    /// The descriptor as far as its `struct_size` covers it: an older minor's descriptor is shorter
    /// than this worker's, and the bytes after it belong to something else. Fields it does not cover
    /// stay zero (absent); bytes past this worker's own descriptor are never read either.
    static func covered(_ raw: UnsafeRawPointer) -> cchost_plugin {
        let size = Int(raw.load(fromByteOffset: 12, as: UInt32.self))
        var plugin = cchost_plugin()
        withUnsafeMutableBytes(of: &plugin) { copy in
            copy.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: min(size, copy.count)))
        }
        return plugin
    }

    /// The four fixed fields, read as raw integers before the struct is trusted any further.
    static func checkFixedHeader(_ raw: UnsafeRawPointer) -> [Rejection.Problem] {
        let magic = raw.load(fromByteOffset: 0, as: UInt32.self)
        let major = raw.load(fromByteOffset: 4, as: UInt32.self)
        let minor = raw.load(fromByteOffset: 8, as: UInt32.self)
        let size = raw.load(fromByteOffset: 12, as: UInt32.self)
        var problems: [Rejection.Problem] = []
        if magic != CCHOST_PLUGIN_MAGIC {
            problems.append(.init(field: "magic", expected: hex(CCHOST_PLUGIN_MAGIC), found: hex(magic),
                                  message: "magic is \(hex(magic)), expected \(hex(CCHOST_PLUGIN_MAGIC)): not a cchost plugin descriptor"))
        }
        if major != CCHOST_ABI_MAJOR {
            problems.append(.init(field: "abi_major", expected: "\(CCHOST_ABI_MAJOR)", found: "\(major)",
                                  message: "built for ABI major \(major); this worker speaks major \(CCHOST_ABI_MAJOR)"))
        }
        if minor > CCHOST_ABI_MINOR {
            problems.append(.init(field: "abi_minor", expected: "<= \(CCHOST_ABI_MINOR)", found: "\(minor)",
                                  message: "built for ABI minor \(minor), newer than this worker's \(CCHOST_ABI_MINOR): upgrade cchost or rebuild the plugin"))
        }
        // The v1.0 size, not this worker's own: a worker built with fields appended still loads v1.0 plugins.
        let least = UInt32(CCHOST_PLUGIN_SIZE_V1_0)
        if size < least {
            problems.append(.init(field: "struct_size", expected: ">= \(least)", found: "\(size)",
                                  message: "struct_size \(size) is smaller than the v1.0 descriptor (\(least) bytes)"))
        }
        return problems
    }

    static func checkRequiredFields(_ d: cchost_plugin) -> [Rejection.Problem] {
        var problems: [Rejection.Problem] = []
        func missing(_ field: String, _ what: String) {
            problems.append(.init(field: field, expected: what, found: "NULL",
                                  message: "required \(field) is NULL"))
        }
        if d.name == nil { missing("name", "a plugin name") }
        else if !isEntryName(String(cString: d.name)) {
            problems.append(.init(field: "name", expected: "[a-z0-9][a-z0-9_.-]*", found: String(cString: d.name),
                                  message: "plugin name \"\(String(cString: d.name))\" is not of the form [a-z0-9][a-z0-9_.-]*"))
        }
        if d.version == nil { missing("version", "a version string") }
        if d.initialize == nil { missing("initialize", "a function") }
        if d.metadata == nil { missing("metadata", "a function") }
        if d.free_buffer == nil { missing("free_buffer", "a function") }
        return problems
    }

    static let countLimit = 4096

    static func checkEntries(_ d: cchost_plugin, signatures: inout [String: CSignature]) -> [Rejection.Problem] {
        var problems: [Rejection.Problem] = []
        func table(_ field: String, _ count: Int, _ present: Bool) -> Bool {
            if count > countLimit {
                problems.append(.init(field: field, expected: "<= \(countLimit)", found: "\(count)",
                                      message: "\(field) \(count) is implausibly large"))
                return false
            }
            if count > 0 && !present {
                problems.append(.init(field: field, expected: "a table of \(count) entries", found: "NULL",
                                      message: "\(field) is \(count) but the table pointer is NULL"))
                return false
            }
            return true
        }
        var seen = Set<String>()
        if table("check_count", d.check_count, d.checks != nil) {
            for i in 0..<d.check_count {
                let c = d.checks[i]
                let label = "checks[\(i)]"
                guard let name = entryName(c.name, label, &problems, &seen) else { continue }
                let tiers = parseTiers(c.tiers)
                if tiers.isEmpty || tiers.contains(where: { Tier(rawValue: $0) == nil }) {
                    problems.append(.init(field: "\(label).tiers", expected: "comma-separated tiers", found: c.tiers.map { String(cString: $0) } ?? "NULL",
                                          message: "check \"\(name)\" has tiers \"\(c.tiers.map { String(cString: $0) } ?? "NULL")\"; valid: \(Tier.allCases.map(\.rawValue).joined(separator: ","))"))
                }
                switch (c.run != nil, c.typed != nil) {
                case (true, true), (false, false):
                    problems.append(.init(field: "\(label).run/typed", expected: "exactly one", found: c.run != nil ? "both" : "neither",
                                          message: "check \"\(name)\" must set exactly one of run and typed"))
                case (false, true):
                    guard let text = c.signature.map({ String(cString: $0) }) else {
                        problems.append(.init(field: "\(label).signature", expected: "a C signature", found: "NULL",
                                              message: "typed check \"\(name)\" has no signature"))
                        continue
                    }
                    do { signatures[name] = try CSignature(parsing: text) } catch {
                        problems.append(.init(field: "\(label).signature", expected: "a supported C signature", found: text,
                                              message: "typed check \"\(name)\": \(error)"))
                    }
                case (true, false): break
                }
            }
        }
        for (field, tableField, count, steps, needsTiers) in [
            ("install_steps", "install_step_count", d.install_step_count, d.install_steps, false),
            ("hooks", "hook_count", d.hook_count, d.hooks, true),
        ] {
            var seenSteps = Set<String>()
            guard table(tableField, count, steps != nil), let steps else { continue }
            for i in 0..<count {
                let s = steps[i]
                let label = "\(field)[\(i)]"
                guard let name = entryName(s.name, label, &problems, &seenSteps) else { continue }
                if s.run == nil {
                    problems.append(.init(field: "\(label).run", expected: "a function", found: "NULL",
                                          message: "\(field) entry \"\(name)\" has no run function"))
                }
                let tiers = parseTiers(s.tiers)
                if needsTiers && (tiers.isEmpty || tiers.contains(where: { Tier(rawValue: $0) == nil })) {
                    problems.append(.init(field: "\(label).tiers", expected: "comma-separated tiers", found: s.tiers.map { String(cString: $0) } ?? "NULL",
                                          message: "hook \"\(name)\" must name the tiers whose op it precedes"))
                }
            }
        }
        return problems
    }

    static func entryName(_ raw: UnsafePointer<CChar>?, _ label: String, _ problems: inout [Rejection.Problem],
                          _ seen: inout Set<String>) -> String? {
        guard let raw else {
            problems.append(.init(field: "\(label).name", expected: "a name", found: "NULL", message: "\(label) has no name"))
            return nil
        }
        let name = String(cString: raw)
        if !isEntryName(name) {
            problems.append(.init(field: "\(label).name", expected: "[a-z0-9][a-z0-9_.-]*", found: name,
                                  message: "\(label) name \"\(name)\" is not of the form [a-z0-9][a-z0-9_.-]*"))
        }
        if !seen.insert(name).inserted {
            problems.append(.init(field: "\(label).name", expected: "a unique name", found: name,
                                  message: "\(label) name \"\(name)\" is used twice"))
        }
        return name
    }

    static func parseTiers(_ raw: UnsafePointer<CChar>?) -> [String] {
        guard let raw else { return [] }
        return String(cString: raw).split(separator: ",").map { $0.trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    static func isEntryName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first.properties.isLowercase || ("0"..."9").contains(first) else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }
    }

    static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Reads a buffer the plugin filled, then hands it back to the plugin's own free function.
    static func take(_ buffer: inout cchost_buffer, from d: cchost_plugin) -> String {
        defer { if buffer.data != nil { d.free_buffer(&buffer) } }
        guard let data = buffer.data, buffer.len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: buffer.len), as: UTF8.self)
    }

    static func describe(_ d: cchost_plugin, metadataJSON: String, signatures: [String: CSignature]) -> PluginDescription {
        func str(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
        let checks = (0..<d.check_count).map { i -> EntryDescription in
            let c = d.checks[i]
            let name = String(cString: c.name)
            return EntryDescription(
                name: name, tiers: parseTiers(c.tiers), description: str(c.description), signature: str(c.signature),
                parameters: signatures[name]?.parameters.map { .init(name: $0.name, type: $0.type.rawValue) })
        }
        func steps(_ count: Int, _ table: UnsafePointer<cchost_step>?) -> [EntryDescription] {
            guard let table else { return [] }
            return (0..<count).map { i in
                EntryDescription(name: String(cString: table[i].name), tiers: parseTiers(table[i].tiers),
                                 description: str(table[i].description))
            }
        }
        return PluginDescription(
            name: String(cString: d.name), version: String(cString: d.version), abiMajor: d.abi_major,
            abiMinor: d.abi_minor, structSize: d.struct_size, checks: checks,
            installSteps: steps(d.install_step_count, d.install_steps), hooks: steps(d.hook_count, d.hooks),
            metadataJSON: metadataJSON)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}

/// Paths of the shared objects mapped into this process (the program interpreter included), from
/// /proc/self/maps.
func loadedLibraries() -> [String] {
    guard let file = fopen("/proc/self/maps", "r") else { return [] }
    defer { fclose(file) }
    var paths: [String] = []
    var line = [CChar](repeating: 0, count: 4096)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(cString: line).trimmingCharacters(in: " \n")
        guard let slash = text.firstIndex(of: "/") else { continue }
        let path = String(text[slash...])
        if (path.hasSuffix(".so") || path.contains(".so.")) && !paths.contains(path) { paths.append(path) }
    }
    return paths
}
