#if canImport(Glibc)
import Glibc
#endif
import Foundation

// How the Engine API client talks to the engine: HTTP/1.1 over its unix socket, one connection a
// request, every wait bounded by a deadline; and the two stream formats of its answers.

// MARK: - Requests

extension DockerAPI {
    struct HTTPAnswer {
        var status: Int
        var body: [UInt8]
    }

    /// Writes one request on a new connection to the socket and reads its answer (see `request`).
    func send(_ method: String, _ path: String, versioned prefix: String, query: [String: String] = [:],
              body: [UInt8]? = nil, deadline: Deadline, hijack: Bool = false, input: [UInt8]? = nil) throws(DockerAPIError) -> HTTPAnswer {
        var head = "\(method) \(Self.target(prefix + path, query)) HTTP/1.1\r\nHost: docker\r\nUser-Agent: cchost\r\n"
        head += hijack ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        head += "\r\n"

        let connection = try connect(method, path, deadline: deadline)
        try connection.write(Array(head.utf8) + (body ?? []))
        let response = try connection.readHead()
        let status = response.status
        if hijack, status == 101 || status == 200 {
            // 101 when the engine honours the upgrade; 200 with a raw stream from engines that do not.
            return HTTPAnswer(status: status, body: try connection.readRawStream(after: response.rest, input: input))
        }
        let bytes = try connection.readBody(response)
        guard (200..<300).contains(status) else {
            throw .rejected(method: method, path: path, status: status, message: Self.engineMessage(bytes))
        }
        return HTTPAnswer(status: status, body: bytes)
    }

    /// Writes one request whose answer is a stream of lines (events) and returns its first line,
    /// or nil when none came before `deadline`: waiting for something to happen, not a failure.
    func firstLine(_ method: String, _ path: String, versioned prefix: String, query: [String: String],
                   deadline: Deadline) throws(DockerAPIError) -> [UInt8]? {
        let head = "\(method) \(Self.target(prefix + path, query)) HTTP/1.1\r\nHost: docker\r\nUser-Agent: cchost\r\nConnection: close\r\n\r\n"
        let connection = try connect(method, path, deadline: deadline)
        do throws(DockerAPIError) {
            try connection.write(Array(head.utf8))
            let response = try connection.readHead()
            guard (200..<300).contains(response.status) else {
                throw DockerAPIError.rejected(method: method, path: path, status: response.status,
                                              message: Self.engineMessage(try connection.readBody(response)))
            }
            return try connection.readFirstLine(response)
        } catch .timedOut {
            return nil
        }
    }

    /// A new connection to the engine's socket; none when this client's address was refused.
    private func connect(_ method: String, _ path: String, deadline: Deadline) throws(DockerAPIError) -> APIConnection {
        switch address {
        case .success(let address):
            return try APIConnection(socketPath: address.socketPath, method: method, path: path, deadline: deadline, limit: responseLimit)
        case .failure(let refusal):
            throw .unreachable(socketPath: refusal.value, method: method, path: path, reason: refusal.description)
        }
    }

    /// The request target: the path and its query, keys sorted so one request is always written alike.
    static func target(_ path: String, _ query: [String: String]) -> String {
        path + (query.isEmpty ? "" : "?" + query.sorted { $0.key < $1.key }
            .map { "\(percentEncode($0.key))=\(percentEncode($0.value))" }.joined(separator: "&"))
    }

    /// Everything but unreserved characters escaped: the engine (Go) would read a `+` as a space.
    static func percentEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.append(Character(Unicode.Scalar(byte)))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    static func escapePathSegment(_ segment: String) -> String { percentEncode(segment) }
}

// MARK: - Multiplexed streams

/// A non-TTY stream as the engine sends exec output and logs: frames of an 8-byte header (stream
/// 0 stdin, 1 stdout, 2 stderr; three zero bytes; a big-endian UInt32 length) and the payload.
/// A stream that does not start like a frame (a TTY) is taken as stdout.
struct Multiplexed {
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []
    /// Both, in the order received.
    var combined: [UInt8] = []

    init(_ bytes: [UInt8]) {
        guard let first = bytes.first, first <= 2, bytes.count >= 8, bytes[1] == 0, bytes[2] == 0, bytes[3] == 0 else {
            stdout = bytes
            combined = bytes
            return
        }
        var index = 0
        while index + 8 <= bytes.count {
            let kind = bytes[index]
            let length = bytes[(index + 4)..<(index + 8)].reduce(0) { $0 << 8 | Int($1) }
            let end = min(bytes.count, index + 8 + length)
            let payload = bytes[(index + 8)..<end]
            if kind == 2 { stderr += payload } else { stdout += payload }
            combined += payload
            index = end
        }
    }
}

// MARK: - The connection

/// A point in time requests must finish by.
struct Deadline {
    let instant: ContinuousClock.Instant
    let seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
        instant = .now + .milliseconds(Int64((max(0, seconds) * 1000).rounded()))
    }

    /// Seconds left, never negative.
    var remaining: Double {
        let left = (instant - .now).components
        return max(0, Double(left.seconds) + Double(left.attoseconds) / 1e18)
    }
}

/// One connection to the engine's socket, closed when released. Non-blocking, every wait bounded by
/// poll(2) against the deadline.
final class APIConnection {
    private let descriptor: Int32
    private let method: String
    private let path: String
    private let deadline: Deadline
    private let limit: Int

    struct Head {
        var status: Int
        /// Lower-cased names.
        var headers: [String: String]
        /// Bytes read past the head.
        var rest: [UInt8]
    }

    init(socketPath: String, method: String, path: String, deadline: Deadline, limit: Int) throws(DockerAPIError) {
        self.method = method
        self.path = path
        self.deadline = deadline
        self.limit = limit
        func unreachable(_ reason: String) -> DockerAPIError {
            .unreachable(socketPath: socketPath, method: method, path: path, reason: reason)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw unreachable("the socket path is too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }

        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw unreachable("socket: \(Self.lastError())") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = Self.lastError()
            close(descriptor)
            throw unreachable(reason)
        }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(descriptor) }

    func write(_ bytes: [UInt8]) throws(DockerAPIError) {
        var sent = 0
        while sent < bytes.count {
            try wait(for: Int16(POLLOUT))
            let count = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw broken("cannot send the request: \(Self.lastError())")
            }
            sent += count
        }
    }

    func readHead() throws(DockerAPIError) -> Head {
        var buffer: [UInt8] = []
        let separator: [UInt8] = [13, 10, 13, 10]
        while true {
            if let end = ByteSearch.find(separator, in: buffer) {
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                var lines = text.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let fields = statusLine.split(separator: " ", maxSplits: 2)
                guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let status = Int(fields[1]) else {
                    throw broken("the status line is \"\(statusLine.prefix(80))\"")
                }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return Head(status: status, headers: headers, rest: Array(buffer[(end + 4)...]))
            }
            guard buffer.count < 64 << 10 else { throw broken("the response head is longer than 64 KiB") }
            guard try receive(into: &buffer) else {
                throw broken(buffer.isEmpty ? "the engine closed the connection without answering" : "the response head is cut short")
            }
        }
    }

    /// The body, by `Content-Length`, chunked transfer encoding, or (neither) until the engine closes.
    func readBody(_ head: Head) throws(DockerAPIError) -> [UInt8] {
        var buffer = head.rest
        if head.status == 204 || head.status == 304 || (100..<200).contains(head.status) { return [] }
        if head.headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var decoder = ChunkedDecoder()
            while true {
                do { try decoder.consume(&buffer) } catch { throw broken(error.reason) }
                if decoder.finished { return decoder.body }
                guard decoder.body.count <= limit else { throw tooLarge() }
                guard try receive(into: &buffer) else { throw broken("the chunked body ends before its last chunk") }
            }
        }
        if let field = head.headers["content-length"] {
            guard let length = Int(field), length >= 0 else { throw broken("Content-Length is \"\(field)\"") }
            guard length <= limit else { throw tooLarge() }
            while buffer.count < length {
                guard try receive(into: &buffer) else { throw broken("the body ends after \(buffer.count) of \(length) bytes") }
            }
            return Array(buffer.prefix(length))
        }
        while try receive(into: &buffer) {
            guard buffer.count <= limit else { throw tooLarge() }
        }
        return buffer
    }

    /// The first line of a streamed body, chunked or not; nil when the stream ends before one.
    /// Throws `.timedOut` at the deadline, like every wait here.
    func readFirstLine(_ head: Head) throws(DockerAPIError) -> [UInt8]? {
        var buffer = head.rest
        let chunked = head.headers["transfer-encoding"]?.lowercased().contains("chunked") == true
        var decoder = ChunkedDecoder()
        while true {
            if chunked {
                do { try decoder.consume(&buffer) } catch { throw broken(error.reason) }
            }
            let body = chunked ? decoder.body : buffer
            if let end = body.firstIndex(of: UInt8(ascii: "\n")) { return Array(body[..<end]) }
            guard body.count <= limit else { throw tooLarge() }
            if decoder.finished { return nil }
            guard try receive(into: &buffer) else { return nil }
        }
    }

    /// A hijacked connection: writes `input` while reading (so a command echoing its input cannot
    /// stall on a full pipe), closes the write side once `input` is sent so the command sees end of
    /// input, and reads until the engine closes the stream. Without `input` (stdin not attached)
    /// the write side is left alone.
    func readRawStream(after rest: [UInt8], input: [UInt8]?) throws(DockerAPIError) -> [UInt8] {
        var buffer = rest
        var sent = 0
        var writing = input != nil
        let input = input ?? []
        if writing && input.isEmpty { shutdown(descriptor, Int32(SHUT_WR)); writing = false }
        while true {
            let events = Int16(POLLIN) | (writing ? Int16(POLLOUT) : 0)
            let ready = try wait(for: events)
            if writing, ready & Int16(POLLOUT | POLLERR | POLLHUP) != 0 {
                let count = input[sent...].prefix(64 << 10).withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if count >= 0 {
                    sent += count
                } else if errno != EINTR && errno != EAGAIN {
                    // The command stopped reading (it exited): keep reading what it wrote.
                    writing = false
                }
                if sent == input.count { shutdown(descriptor, Int32(SHUT_WR)); writing = false }
            }
            if ready & Int16(POLLIN | POLLHUP | POLLERR) != 0 || !writing {
                guard try receive(into: &buffer, waiting: false) else { return buffer }
                guard buffer.count <= limit else { throw tooLarge() }
            }
        }
    }

    /// Reads what is available into `buffer` (waiting for it unless told not to); false at end of stream.
    private func receive(into buffer: inout [UInt8], waiting: Bool = true) throws(DockerAPIError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            if waiting { try wait(for: Int16(POLLIN)) }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer += chunk[..<count]
                return true
            }
            if count == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN { if waiting { continue } else { return true } }
            throw broken("cannot read the answer: \(Self.lastError())")
        }
    }

    /// Waits until the socket is ready for `events` or the deadline passes; returns the ready events.
    @discardableResult
    private func wait(for events: Int16) throws(DockerAPIError) -> Int16 {
        while true {
            let remaining = deadline.remaining
            guard remaining > 0 else { throw .timedOut(method: method, path: path, seconds: deadline.seconds) }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if result > 0 { return entry.revents }
            if result < 0 && errno != EINTR { throw broken("poll: \(Self.lastError())") }
        }
    }

    private func broken(_ reason: String) -> DockerAPIError {
        .malformedResponse(method: method, path: path, reason: reason)
    }

    private func tooLarge() -> DockerAPIError {
        broken("the answer is larger than \(limit >> 20) MiB")
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// Decodes `Transfer-Encoding: chunked` as bytes arrive: size line (hex, maybe `;extensions`),
/// data, CRLF; a zero size ends the body, after optional trailer lines and an empty line.
struct ChunkedDecoder {
    struct Problem: Error { var reason: String }

    private(set) var body: [UInt8] = []
    private(set) var finished = false
    private var inTrailers = false

    /// Takes every complete piece off the front of `buffer`.
    mutating func consume(_ buffer: inout [UInt8]) throws(Problem) {
        var index = 0
        defer { buffer.removeFirst(index) }
        let lineEnd: [UInt8] = [13, 10]
        while !finished {
            guard let end = ByteSearch.find(lineEnd, in: buffer, from: index) else { return }
            if inTrailers {
                if end == index { finished = true }
                index = end + 2
                continue
            }
            let line = String(decoding: buffer[index..<end], as: UTF8.self)
            let sizeText = line.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16), size >= 0 else { throw Problem(reason: "a chunk size is \"\(line.prefix(40))\"") }
            if size == 0 {
                inTrailers = true
                index = end + 2
                continue
            }
            let dataStart = end + 2
            guard buffer.count >= dataStart + size + 2 else { return }
            guard buffer[dataStart + size] == 13, buffer[dataStart + size + 1] == 10 else {
                throw Problem(reason: "a chunk is not followed by CRLF")
            }
            body += buffer[dataStart..<(dataStart + size)]
            index = dataStart + size + 2
        }
    }
}

/// Byte search for the response head and the chunked decoder.
enum ByteSearch {
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Int? {
        guard haystack.count >= needle.count + start else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index] == needle[0] {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
        }
        return nil
    }
}
