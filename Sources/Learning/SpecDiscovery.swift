import Specs
import WireProtocol

/// A learner started without a spec takes it from the first valid hello (of the expected
/// environment, when one is named). Whatever else arrives first is counted by reason, with one
/// example each, so that a flood costs no memory; the counts enter the ledger once it exists.
struct SpecDiscovery {
    /// The environment id the first hello must announce (nil: any).
    let expectedId: String?
    private(set) var rejected: [String: RejectedBeforeSpec] = [:]
    private(set) var logged = 0

    init(expectedId: String?) { self.expectedId = expectedId }

    /// The hello in `bytes` if it is one this learner can start from; else the reason it is not.
    mutating func examine(_ bytes: UnsafeRawBufferPointer) -> Result<Hello, ProtocolError> {
        do throws(ProtocolError) {
            let hello = try MessageDecoder.decodeHello(bytes)
            if let expectedId, hello.spec.id != expectedId { throw .specMismatch(expected: expectedId, announced: hello.spec.description) }
            return .success(hello)
        } catch {
            rejected[error.reason, default: RejectedBeforeSpec(example: error)].add(transitions: MessageDecoder.claimedTransitionCount(bytes) ?? 0)
            return .failure(error)
        }
    }

    /// Whether to log this rejection: the first ten only.
    mutating func shouldLog() -> Bool {
        logged += 1
        return logged <= 10
    }
}

/// Messages rejected before the learner knew its environment, of one reason.
struct RejectedBeforeSpec {
    var example: ProtocolError
    var messages = 0
    var transitions = 0

    init(example: ProtocolError) { self.example = example }

    mutating func add(transitions claimed: Int) {
        messages += 1
        transitions += min(max(claimed, 0), WireFormat.maxTransitionsPerMessage)
    }
}
