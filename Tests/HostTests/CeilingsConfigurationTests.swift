import Foundation
@testable import HostBase
import Testing

private let source = "/etc/cchost/config.yml"

private func parse(_ yaml: String) throws -> Configuration {
    try Configuration(parsing: yaml, source: source, environment: [:])
}

@Suite("Ceilings and retention configuration")
struct CeilingsConfigurationTests {
    @Test("Without ceilings or retention in the file, the defaults apply")
    func defaults() throws {
        let configuration = try parse("state_dir: /srv/cchost\n")
        #expect(configuration.ceilings == RunCeilings(deadline: 3600, services: ServiceCeilings(memoryBytes: 2 << 30, cpus: 2),
                                                      runFolderBytes: 5 << 30, tasks: 50))
        #expect(configuration.ceilings(for: "anything") == .defaults)
        #expect(configuration.retention == RetentionPolicy(keepRuns: 10, maxBytes: 20 << 30))
    }

    @Test("Global ceilings and retention are read, and a recipe's own ceilings and keep_runs go over them")
    func globalAndPerRecipe() throws {
        let configuration = try parse("""
            ceilings:
              deadline: 45m
              memory: 512MiB
              cpus: 0.5
              run_folder: 1GiB
              tasks: 20
            retention:
              keep_runs: 4
              max_size: 3GiB
            recipes:
              - name: big
                upstream: /u/big
                ceilings: {memory: 4GiB, deadline: 2h, tasks: 120}
                retention: {keep_runs: 2}
              - name: small
                upstream: /u/small
            """)
        #expect(configuration.ceilings == RunCeilings(deadline: 45 * 60, services: ServiceCeilings(memoryBytes: 512 << 20, cpus: 0.5),
                                                      runFolderBytes: 1 << 30, tasks: 20))
        #expect(configuration.ceilings(for: "big") == RunCeilings(
            deadline: 7200, services: ServiceCeilings(memoryBytes: 4 << 30, cpus: 0.5), runFolderBytes: 1 << 30, tasks: 120))
        #expect(configuration.ceilings(for: "small") == configuration.ceilings)
        #expect(configuration.retention == RetentionPolicy(keepRuns: 4, maxBytes: 3 << 30, keepRunsByRecipe: ["big": 2]))
        #expect(configuration.retention.keepRuns(for: "big") == 2)
        #expect(configuration.retention.keepRuns(for: "small") == 4)
        #expect(configuration.retention.keepRuns(for: nil) == 4)
        #expect(configuration.ceilings(for: "big").deadlineReason == "the run passed its 120 min deadline")
    }

    @Test("A bad ceiling or retention value is an error naming the file, its line and the field", arguments: [
        ("ceilings:\n  deadline: 45\n", 2, "ceilings.deadline must be a duration such as 45m, 90s or 2h"),
        ("ceilings:\n  deadline: -5m\n", 2, "ceilings.deadline"),
        ("ceilings:\n  memory: 2 gigs\n", 2, "ceilings.memory must be a size of at least 4MiB"),
        ("ceilings:\n  memory: 1KiB\n", 2, "ceilings.memory"),
        ("ceilings:\n  cpus: many\n", 2, "ceilings.cpus must be a number of CPUs"),
        ("ceilings:\n  cpus: 0\n", 2, "ceilings.cpus"),
        ("# c\nceilings:\n  run_folder: 0\n", 3, "ceilings.run_folder must be a size"),
        ("ceilings:\n  tasks: 0\n", 2, "ceilings.tasks must be a whole number of tasks from 1 to 100000, such as 50"),
        ("ceilings:\n  tasks: -5\n", 2, "ceilings.tasks must be a whole number of tasks"),
        ("ceilings:\n  tasks: 2.5\n", 2, "ceilings.tasks must be a whole number of tasks"),
        ("ceilings:\n  tasks: many\n", 2, "ceilings.tasks must be a whole number of tasks"),
        ("ceilings:\n  tasks: 100001\n", 2, "ceilings.tasks must be a whole number of tasks"),
        ("ceilings:\n  tasks: [5]\n", 2, "ceilings.tasks must be a whole number of tasks"),
        ("recipes:\n  - name: x\n    upstream: /u\n    ceilings: {tasks: 0}\n", 4, "recipes[0].ceilings.tasks must be a whole number"),
        ("ceilings:\n  disk: 5GiB\n", 2, "unknown key 'ceilings.disk'"),
        ("ceilings: 5GiB\n", 1, "ceilings must be a mapping"),
        ("retention:\n  keep_runs: 0\n", 2, "retention.keep_runs must be a whole number from 1"),
        ("retention:\n  max_size: lots\n", 2, "retention.max_size must be a size"),
        ("retention:\n  keep: 3\n", 2, "unknown key 'retention.keep'"),
        ("recipes:\n  - name: x\n    upstream: /u\n    ceilings:\n      memory: huge\n", 5, "recipes[0].ceilings.memory"),
        ("recipes:\n  - name: x\n    upstream: /u\n    retention: {max_size: 1GiB}\n", 4, "unknown key 'recipes[0].retention.max_size'"),
        ("recipes:\n  - name: x\n    upstream: /u\n    retention: {keep_runs: many}\n", 4, "recipes[0].retention.keep_runs"),
    ])
    func errors(yaml: String, line: Int, message: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try parse(yaml) }
        #expect(error.description.hasPrefix("\(source):\(line): "), "\(error)")
        #expect(error.description.contains(message), "\(error)")
    }

    @Test("Sizes read with binary units or as bytes, and print in the largest whole unit", arguments: [
        ("2GiB", UInt64(2) << 30), ("512MiB", 512 << 20), ("64KiB", 64 << 10), ("1TiB", 1 << 40), ("1048576", 1 << 20),
    ])
    func sizes(text: String, bytes: UInt64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test("Sizes that are not sizes are refused", arguments: ["", "0", "2GB", "-1MiB", "1.5GiB", "GiB", "many"])
    func notSizes(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test("Sizes print in the largest unit they reach")
    func sizeText() {
        #expect(ByteSize.text(64 << 20) == "64 MiB")
        #expect(ByteSize.text(3 << 29) == "1.5 GiB")
        #expect(ByteSize.text(512) == "512 B")
    }
}
