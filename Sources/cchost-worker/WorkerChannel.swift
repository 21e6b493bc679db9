import Glibc
import PluginChannel

/// The worker's end of the framed channel. Blocking: the host owns every deadline and kills the
/// worker's process group when one passes.
final class WorkerChannel {
    private let input: Int32
    private let output: Int32
    private var decoder = FrameDecoder()
    private var nextCallID = 1

    init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    func send(_ message: WorkerMessage) throws(ChannelError) {
        try writeAll(output, try message.frameBytes())
    }

    func receive() throws(ChannelError) -> HostMessage {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let payload = try decoder.nextFrame() { return try HostMessage.fromFrame(payload) }
            let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("read from channel failed: \(String(cString: strerror(errno)))")
            }
            chunk.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Forwards one host-table call and waits for its reply. Anything but the matching reply is a
    /// protocol violation by the host, and the worker ends.
    func call(_ call: HostCall) throws(ChannelError) -> HostReply {
        let id = nextCallID
        nextCallID += 1
        try send(.call(id: id, call))
        switch try receive() {
        case .reply(let replyID, let reply) where replyID == id: return reply
        case let other: throw .malformed("expected the reply to call \(id), got \(other)")
        }
    }
}
