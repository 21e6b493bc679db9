import Foundation
import HostBase
import Testing

/// External commands fed on stdin (secrets, restore archives): the input arrives whole or the
/// command does not look like a success, and a command that never reads it still meets its deadline.
@Suite("Running commands with input")
struct CommandTests {
    static let input = Data(repeating: 0x61, count: 8 << 20)

    @Test("a command that reads all of a large input gets it, while its output is drained")
    func largeInputArrivesWhole() throws {
        let output = try Command.run("/bin/cat", [], environment: [:], input: Self.input, timeout: 30)
        #expect(output.termination == .exited(0))
        #expect(output.stdout == Self.input)
    }

    @Test("a command that exits 0 without reading its whole input is an error naming the bytes written")
    func unreadInputIsAnError() throws {
        #expect {
            try Command.run("/bin/true", [], environment: [:], input: Self.input, timeout: 30)
        } throws: { error in
            let description = "\(error)"
            return description.hasPrefix("/bin/true: ") && description.contains("of 8388608 bytes")
                && description.contains("Broken pipe")
        }
    }

    @Test("a command that fails without reading its input returns its own status and message")
    func failingCommandKeepsItsStatus() throws {
        let output = try Command.run("/bin/sh", ["-c", "echo no such container >&2; exit 3"], environment: [:],
                                     input: Self.input, timeout: 30)
        #expect(output.termination == .exited(3))
        #expect(output.stderrText == "no such container\n")
    }

    @Test("a command that never reads its input is killed at its deadline, not waited on")
    func unreadInputMeetsTheDeadline() throws {
        let started = Date()
        #expect {
            try Command.run("/bin/sleep", ["60"], environment: [:], input: Self.input, timeout: 2)
        } throws: { error in
            "\(error)" == "/bin/sleep 60: did not finish within 2 s and was killed"
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed > 1.5 && elapsed < 5, "took \(elapsed) s")
    }

    @Test("a file streams in and out whole: 40 MiB through cat from one file into another, none of it in memory output")
    func filesStreamWhole() throws {
        let folder = try TemporaryDirectory()
        let source = folder.url.appendingPathComponent("in.bin"), target = folder.url.appendingPathComponent("out.bin")
        let data = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: 40 << 20)
        try data.write(to: source)
        let output = try Command.run("/bin/cat", [], environment: [:], input: .file(source), stdoutFile: target, timeout: 60)
        #expect(output.succeeded && output.stdout.isEmpty)
        #expect(output.streamedBytes == data.count)
        #expect(try Data(contentsOf: target) == data)
    }

    @Test("an input file that cannot be read, or an output file that cannot be written, is an error naming it")
    func unusableFilesAreErrors() throws {
        let folder = try TemporaryDirectory()
        let missing = folder.url.appendingPathComponent("missing.tar")
        #expect { try Command.run("/bin/cat", [], environment: [:], input: .file(missing), stdoutFile: nil, timeout: 5) }
            throws: { "\($0)".contains("cannot read \(missing.path)") }
        let unwritable = folder.url.appendingPathComponent("no/such/folder/out")
        #expect { try Command.run("/bin/echo", ["hi"], environment: [:], input: .none, stdoutFile: unwritable, timeout: 5) }
            throws: { "\($0)".contains("cannot write \(unwritable.path)") }
    }
}
