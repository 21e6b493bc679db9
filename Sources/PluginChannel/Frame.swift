#if canImport(Glibc)
import Glibc
#endif

/// The channel between the host and `cchost-worker` carries frames: a 4-byte big-endian payload
/// length, then that many bytes of JSON. Either side ends the conversation on a frame that breaks
/// these rules, so a hostile plugin that writes to the channel cannot confuse the host.
public enum Frame {
    public static let headerSize = 4
    /// Frames above this are a protocol violation. Large enough for any metadata or exec output the
    /// host caps, small enough that a flood cannot make the host buffer without bound.
    public static let maximumPayload = 4 << 20

    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + payload
    }
}

public enum ChannelError: Error, Equatable, CustomStringConvertible {
    case closed
    case oversized(length: Int, limit: Int)
    case malformed(String)
    case timedOut
    case io(String)

    public var description: String {
        switch self {
        case .closed: return "the channel closed"
        case .oversized(let length, let limit):
            return "a frame of \(length) bytes exceeds the \(limit)-byte limit"
        case .malformed(let why): return "malformed message: \(why)"
        case .timedOut: return "no answer before the deadline"
        case .io(let why): return why
        }
    }
}

/// Cuts a byte stream into frames. Pure: feed it bytes, take frames out.
public struct FrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    public let limit: Int

    public init(limit: Int = Frame.maximumPayload) { self.limit = limit }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    /// The next whole frame's payload, nil when more bytes are needed.
    public mutating func nextFrame() throws(ChannelError) -> [UInt8]? {
        guard buffer.count - start >= Frame.headerSize else { return nil }
        let length = buffer[start..<start + 4].reduce(0) { ($0 << 8) | Int($1) }
        guard length <= limit else { throw .oversized(length: length, limit: limit) }
        guard buffer.count - start - Frame.headerSize >= length else { return nil }
        let payloadStart = start + Frame.headerSize
        let payload = Array(buffer[payloadStart..<payloadStart + length])
        start = payloadStart + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 16 {
            buffer.removeFirst(start)
            start = 0
        }
        return payload
    }
}

/// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(ChannelError) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { raw in
            write(fd, raw.baseAddress! + offset, raw.count - offset)
        }
        if n < 0 {
            if errno == EINTR { continue }
            if errno == EPIPE { throw .closed }
            throw .io("write to channel failed: \(String(cString: strerror(errno)))")
        }
        offset += n
    }
}

/// Milliseconds left until `deadline` (from `monotonicMilliseconds()`), for poll(2); -1 waits forever.
public func pollTimeout(until deadline: UInt64?) -> Int32 {
    guard let deadline else { return -1 }
    let now = monotonicMilliseconds()
    return deadline > now ? Int32(clamping: deadline - now) : 0
}

public func monotonicMilliseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}
