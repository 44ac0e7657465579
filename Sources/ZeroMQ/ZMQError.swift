import CZeroMQ

/// A libzmq call failed; `message` is `zmq_strerror(code)`.
public struct ZMQError: Error, CustomStringConvertible, Equatable {
    public let code: Int32
    public let message: String
    /// What was being done, e.g. "bind tcp://0.0.0.0:5555".
    public let operation: String

    init(operation: String, code: Int32 = zmq_errno()) {
        self.code = code
        self.message = String(cString: zmq_strerror(code))
        self.operation = operation
    }

    public var description: String { "\(operation): \(message)" }

    /// The call would have blocked (`EAGAIN`), e.g. a non-blocking receive with nothing queued.
    public var wouldBlock: Bool { code == EAGAIN }
    /// The call was interrupted by a signal (`EINTR`).
    public var interrupted: Bool { code == EINTR }
    /// The context was terminated (`ETERM`).
    public var contextTerminated: Bool { code == ETERM }
}

/// Runs a libzmq call that returns -1 on failure.
@inline(__always)
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(ZMQError) {
    if result == -1 { throw ZMQError(operation: operation()) }
}
