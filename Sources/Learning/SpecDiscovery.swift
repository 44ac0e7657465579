import Specs
import WireProtocol

/// A learner started without a spec takes it from the first valid hello (of the expected
/// environment, when one is named) that the operator's ``SpecLimits`` admit and whose replay fits in
/// memory. Whatever else arrives first is counted by reason, with one example each, so that a flood
/// costs no memory; the counts enter the ledger once it exists.
struct SpecDiscovery {
    /// The environment id the first hello must announce (nil: any).
    let expectedId: String?
    let limits: SpecLimits
    /// Why replay for this spec would not fit, or nil.
    let replayProblem: (EnvironmentSpec) -> String?
    private(set) var rejected: [String: RejectedBeforeSpec] = [:]
    private(set) var logged = 0
    /// Hellos of environments other than the expected one, by id (the first 16 ids): a typo in `--env` shows here.
    private(set) var otherIds: [String: Int] = [:]

    init(expectedId: String?, limits: SpecLimits, replayProblem: @escaping (EnvironmentSpec) -> String?) {
        self.expectedId = expectedId
        self.limits = limits
        self.replayProblem = replayProblem
    }

    /// The hello in `bytes` and the spec to adopt from it (its reward range narrowed to the limits), if
    /// this learner can start from it; else the reason it cannot.
    mutating func examine(_ bytes: UnsafeRawBufferPointer) -> Result<(hello: Hello, spec: EnvironmentSpec), ProtocolError> {
        do throws(ProtocolError) {
            let hello = try MessageDecoder.decodeHello(bytes)
            if let expectedId, hello.spec.id != expectedId {
                if otherIds[hello.spec.id] != nil || otherIds.count < 16 { otherIds[hello.spec.id, default: 0] += 1 }
                throw .specMismatch(expected: expectedId, announced: hello.spec.description, difference: "id: \"\(hello.spec.id)\" where the learner waits for \"\(expectedId)\"")
            }
            switch limits.admit(hello.spec) {
            case let .failure(refusal): throw .specNotAllowed(refusal.description)
            case let .success(spec):
                if let problem = replayProblem(spec) { throw .specNotAllowed(problem) }
                return .success((hello, spec))
            }
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
