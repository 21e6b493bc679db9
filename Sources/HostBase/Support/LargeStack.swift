import Foundation

/// Runs work that recurses as deep as its input on a thread of its own with a stack of a known
/// size, so that how deep it may go does not depend on which thread asked (a Dispatch or Swift
/// concurrency thread may have far less stack than the main one).
enum LargeStack {
    /// `body`'s result, computed on a new thread of `stackBytes`; the caller waits for it.
    static func run<T>(stackBytes: Int, _ body: @escaping () -> T) -> T {
        let box = Handoff<T>(body)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = box.body?()
            box.body = nil
            done.signal()
        }
        thread.stackSize = stackBytes
        thread.start()
        done.wait()
        // Kept: the body ran to its end before the signal, so there is always a result.
        return box.result!
    }
}

/// The work and its result, crossing to the thread and back once each; the semaphore orders both.
private final class Handoff<T>: @unchecked Sendable {
    var body: (() -> T)?
    var result: T?

    init(_ body: @escaping () -> T) { self.body = body }
}
