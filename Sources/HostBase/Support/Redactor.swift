import Foundation
import Synchronization

/// Replaces secret values with `[redacted]` in text cchost writes for people. One redactor per
/// idea: everything that writes (console events, reports, artifacts, hook errors, plugin logs,
/// database rows) asks the run's `SecretLedger` for it.
///
/// Values shorter than `minimumLength` are never redacted (they would blank out ordinary words,
/// and cchost generates none that short). Matching is on UTF-8 bytes (a valid UTF-8 value only
/// matches on scalar boundaries); overlapping and nested values are replaced as one span, so no
/// part of a longer secret survives a shorter one.
public struct Redactor: Sendable {
    public static let minimumLength = 8
    public static let replacement = "[redacted]"

    /// The values to redact, as bytes, longest first.
    let needles: [[UInt8]]

    public init(_ secrets: some Sequence<String>) {
        needles = Set(secrets.filter { $0.utf8.count >= Self.minimumLength }).map { Array($0.utf8) }
            .sorted { $0.count > $1.count }
    }

    public var isEmpty: Bool { needles.isEmpty }
    /// Bytes a stream holds back: a value split between two chunks is found whole in the next.
    var window: Int { max(0, (needles.first?.count ?? 0) - 1) }

    public func redact(_ text: String) -> String {
        guard !isEmpty, !text.isEmpty else { return text }
        let bytes = Array(text.utf8)
        let spans = self.spans(in: bytes)
        guard !spans.isEmpty else { return text }
        return String(decoding: replacing(spans, in: bytes[...]), as: UTF8.self)
    }

    public func redact(_ bytes: [UInt8]) -> [UInt8] {
        guard !isEmpty else { return bytes }
        return replacing(spans(in: bytes), in: bytes[...])
    }

    /// Every occurrence of every value, merged where they overlap or touch, in order.
    func spans(in haystack: [UInt8]) -> [Range<Int>] {
        var found: [Range<Int>] = []
        for needle in needles where needle.count <= haystack.count {
            var start = 0
            while start + needle.count <= haystack.count {
                if haystack[start] == needle[0], haystack[start..<(start + needle.count)].elementsEqual(needle) {
                    found.append(start..<(start + needle.count))
                }
                start += 1
            }
        }
        found.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for span in found {
            if let last = merged.last, span.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, span.upperBound)
            } else {
                merged.append(span)
            }
        }
        return merged
    }

    /// `bytes` with each span (indices of the whole buffer, inside `bytes`) replaced.
    func replacing(_ spans: [Range<Int>], in bytes: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var cursor = bytes.startIndex
        for span in spans {
            output.append(contentsOf: bytes[cursor..<span.lowerBound])
            output.append(contentsOf: Self.replacement.utf8)
            cursor = span.upperBound
        }
        output.append(contentsOf: bytes[cursor..<bytes.endIndex])
        return output
    }

    /// Redaction of a stream read in chunks (a log, a process's output): what `push` returns is
    /// final; the last `window` bytes, or a secret that reaches into them, wait for the next chunk,
    /// so a value split between two reads is still redacted whole. The output equals `redact` of
    /// the whole stream, whatever the chunks (but for a flood of overlapping values, which comes
    /// out as several `[redacted]` rather than one).
    public struct Stream: Sendable {
        let redactor: Redactor
        var carry: [UInt8] = []

        public init(_ redactor: Redactor) { self.redactor = redactor }

        public mutating func push(_ chunk: some Sequence<UInt8>) -> [UInt8] {
            carry.append(contentsOf: chunk)
            guard !redactor.isEmpty else { defer { carry = [] }; return carry }
            let spans = redactor.spans(in: carry)
            // Anything before `cut` cannot start a value still unseen; a span that reaches `cut`
            // stays whole in the carry (a value starting there would join it), unless it is already
            // far larger than the window, as a flood of overlapping values would make it.
            var cut = carry.count - redactor.window
            if let straddling = spans.first(where: { $0.lowerBound < cut && $0.upperBound >= cut }) {
                cut = straddling.count > 4 * max(redactor.window, 1) + 4096 ? straddling.upperBound : straddling.lowerBound
            }
            guard cut > 0 else { return [] }
            let output = redactor.replacing(spans.filter { $0.upperBound <= cut }, in: carry[..<cut])
            carry.removeFirst(cut)
            return output
        }

        /// The rest, at the end of the stream.
        public mutating func finish() -> [UInt8] {
            defer { carry = [] }
            return redactor.redact(carry)
        }
    }

    /// Writes `text` redacted into `file` (replaced), a chunk at a time through a `Stream`: a log
    /// of any size is never copied whole again to be redacted.
    public func write(_ text: String, to file: URL, chunkSize: Int = 1 << 16) throws {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
        }
        let handle = try FileHandle(forWritingTo: file)
        do {
            var stream = Stream(self)
            var bytes = text.utf8[...]
            while !bytes.isEmpty {
                let chunk = bytes.prefix(chunkSize)
                bytes = bytes.dropFirst(chunk.count)
                try handle.write(contentsOf: stream.push(chunk))
            }
            try handle.write(contentsOf: stream.finish())
        } catch {
            // Kept: the write already failed, and that error is the one thrown.
            try? handle.close()
            throw error
        }
        // A close that fails may have lost what was written: the file is not written then.
        try handle.close()
    }
}

/// Secret values known to this process, kept only in memory, so that whatever cchost writes for
/// people is redacted wherever they turn up (an app's log, a hook's error, a plugin's output): the
/// values a deployer generated, and the credentials of the repository and forge it was given.
public final class SecretLedger: Sendable {
    private let values = Mutex<[String]>([])

    public init() {}

    public func record(_ value: String) { values.withLock { $0.append(value) } }

    public var all: [String] { values.withLock { $0 } }

    /// A redactor of every value recorded so far.
    public var redactor: Redactor { Redactor(all) }

    public func redact(_ text: String) -> String { redactor.redact(text) }
}
