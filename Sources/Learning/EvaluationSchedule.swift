import Ingest
import RunConfiguration
import RunRecords
import WireProtocol

/// Evaluation by evaluator processes: the learner never pauses training to evaluate.
///
/// When the env steps pass an evaluation mark, the learner opens a request, which every weights
/// message carries until an evaluator reports on one of them: an evaluator that missed some
/// publications (PUB drops, or it was busy) still sees it, and the mark tells it whether it has
/// evaluated that request already. Reports are accepted only for publications that carried a
/// request (``RequestedEvaluations``), with the episode count asked for. At the end, the learner
/// asks for the final evaluation with its last weights and waits for it, for a bounded time.
struct EvaluationSchedule {
    let every: Int
    let episodes: Int
    let finalEpisodes: Int
    let seed: UInt64
    /// `--until-return`: the run stops at the first evaluation that reaches it.
    let untilReturn: Double?
    /// The return that counts as solving the environment (nil: none).
    let solvedReturn: Double?

    /// The env steps at which the next request opens.
    private(set) var nextAt: Int
    /// The request the next publications carry; nil once an evaluation at or past its mark arrived.
    private(set) var open: EvaluationRequest?
    /// Whether the open request went out yet (its first publication's actor is kept first).
    private var openPublished = false
    /// The open request's ticket's nonce: random, told only to the evaluators the learner authorized.
    private(set) var openNonce: UInt64 = 0
    /// The mark of the newest evaluation recorded; older (or repeated) ones are not recorded again.
    private var lastRecordedMark: UInt64 = 0
    /// The final evaluation, once reported.
    private(set) var final: EvaluationResult?
    private(set) var evaluations: [EvaluationResult] = []
    private(set) var solvedAt: SolvedAt?
    /// With `--until-return`: the actor of each recent publication that carried a request, by version,
    /// and the version whose evaluation reached the target. Training goes on while an evaluator plays,
    /// so the last weights are a few hundred updates past the approved ones; the run ends with these.
    private var actors = KeptActors()
    private(set) var approvedVersion: UInt64?
    /// When each recent request opened, oldest first (the final one too).
    private var openedAt: [Double] = []
    /// The slowest answer so far, per episode asked for.
    private var slowestSecondsPerEpisode = 0.0
    /// However fast earlier answers were, an evaluator gets this long to answer a request.
    static let minimumPatience = 15.0

    init(configuration c: TrainingConfiguration, untilReturn: Double?) {
        every = c.evalEvery
        episodes = c.evalEpisodes
        finalEpisodes = c.finalEvalEpisodes
        seed = c.evalSeed
        solvedReturn = c.solvedReturn
        self.untilReturn = untilReturn
        nextAt = c.evalEvery
    }

    /// Whether the env steps passed the next mark.
    func isDue(envSteps: Int) -> Bool { envSteps >= nextAt }

    /// Opens the request for the mark the env steps passed; the next publications carry it.
    mutating func openRequest(envSteps: Int, now: Double) {
        let mark = UInt64(nextAt)
        nextAt = saturatingAdd(envSteps / every * every, every)
        open = EvaluationRequest(mark: mark, episodes: episodes, seed: seed)
        openPublished = false
        openNonce = UInt64.random(in: 1...UInt64.max)
        noteOpened(at: now)
    }

    /// Opens the final request, with the last weights.
    mutating func openFinal(envSteps: Int, now: Double) {
        open = EvaluationRequest(mark: UInt64(envSteps), episodes: finalEpisodes, seed: seed, isFinal: true)
        openNonce = UInt64.random(in: 1...UInt64.max)
        noteOpened(at: now)
    }

    private mutating func noteOpened(at now: Double) {
        openedAt.append(now)
        if openedAt.count > 1_024 { openedAt.removeFirst(openedAt.count - 1_024) }
    }

    /// An evaluator answered a request of `episodes` episodes `seconds` after it was published.
    mutating func answered(after seconds: Double, episodes: Int) {
        guard seconds.isFinite, episodes > 0 else { return }
        slowestSecondsPerEpisode = max(slowestSecondsPerEpisode, seconds / Double(episodes))
    }

    /// How long an evaluator may leave a request of `episodes` episodes unanswered and still count as
    /// answering: three times the slowest answer so far, scaled to the episodes, and never under
    /// ``minimumPatience``.
    func patience(episodes: Int) -> Double {
        max(Self.minimumPatience, 3 * slowestSecondsPerEpisode * Double(max(episodes, 1)))
    }

    /// When the first request that opened at or after `time` did, if any has.
    func firstRequestOpened(atOrAfter time: Double) -> Double? {
        // Few and in order: the newest are the likeliest, but the list is short enough to scan.
        openedAt.first { $0 >= time }
    }

    mutating func closeFinal() { open = nil }

    /// The publication `version` carried the open request: keeps its actor when `--until-return` may approve it.
    mutating func published(version: UInt64, actor: () -> [Float]) {
        guard untilReturn != nil, let open, !open.isFinal else { return }
        actors.keep(actor(), version: version, first: !openPublished)
        openPublished = true
    }

    /// What an evaluator's report, already matched to its request, did.
    enum Recorded {
        case final
        /// A second evaluator's copy, or a report that arrived after a newer one.
        case stale
        /// A new point of the eval history; `solved` when it first reached the solved return.
        case recorded(EvaluationResult, solved: Bool)
    }

    mutating func record(_ report: EvaluationReport, requested: RequestedEvaluation) -> Recorded {
        let result = EvaluationResult(envSteps: Int(clamping: report.publication.envSteps), wallSeconds: requested.wallSeconds,
                                      returns: report.returns)
        if report.isFinal {
            if final == nil { final = result }
            return .final
        }
        guard requested.request.mark > lastRecordedMark else { return .stale }
        lastRecordedMark = requested.request.mark
        if let open, open.mark <= requested.request.mark { self.open = nil }
        evaluations.append(result)
        // The newest evaluation that reaches the target approves its weights: the run stops on it.
        if let untilReturn, result.meanReturn >= untilReturn { approvedVersion = report.publication.version }
        guard solvedAt == nil, let target = solvedReturn, result.meanReturn >= target else { return .recorded(result, solved: false) }
        solvedAt = SolvedAt(envSteps: result.envSteps, wallSeconds: result.wallSeconds)
        return .recorded(result, solved: true)
    }

    /// Whether the latest evaluation reached `--until-return`.
    var reachedTarget: Bool {
        guard let untilReturn, let last = evaluations.last else { return false }
        return last.meanReturn >= untilReturn
    }

    /// The actor state published as `version`, if still kept.
    func actor(version: UInt64) -> [Float]? { actors.state(version: version) }

    /// Continues a resumed run: its history, and the next mark after its env steps.
    mutating func resume(evaluations: [EvaluationResult], solvedAt: SolvedAt?, envSteps: Int) {
        self.evaluations = evaluations
        self.solvedAt = solvedAt
        nextAt = saturatingAdd(envSteps / every * every, every)
        lastRecordedMark = UInt64(envSteps / every * every)
    }
}

/// Actor states of recent publications that carried a request, up to 32 MiB. Every publication while
/// a request is open carries it (dozens while an evaluator plays), and the evaluator takes whichever
/// is newest when it is free: an evaluator that is free when a request opens evaluates its first
/// one, however many follow while it plays, so the last few firsts are kept before any other.
///
/// Evicting costs O(1): the others are held oldest first (versions only grow), where finding the oldest
/// that is not a first scanned every version kept (up to 1,800 of CartPole's actors) at every publication once full.
struct KeptActors {
    static let floatsLimit = 8 << 20
    static let keptFirsts = 4
    private var actors: [UInt64: [Float]] = [:]
    private var floats = 0
    /// The newest requests' first publications, oldest first.
    private var firsts: [UInt64] = []
    /// Every other version kept, oldest first from `oldest`.
    private var others: [UInt64] = []
    private var oldest = 0

    mutating func keep(_ parameters: [Float], version: UInt64, first: Bool) {
        // A version is published once: one already kept is the same weights.
        guard parameters.count <= Self.floatsLimit / 2, actors[version] == nil else { return }
        while floats + parameters.count > Self.floatsLimit, let evicted = evictOldest() {
            floats -= actors.removeValue(forKey: evicted)?.count ?? 0
        }
        if first {
            firsts.append(version)
            if firsts.count > Self.keptFirsts { demote(firsts.removeFirst()) }
        } else {
            others.append(version)
        }
        actors[version] = parameters
        floats += parameters.count
    }

    func state(version: UInt64) -> [Float]? { actors[version] }

    /// The oldest version that is not one of the newest firsts, else the oldest first; removed from the order.
    private mutating func evictOldest() -> UInt64? {
        if oldest < others.count {
            defer {
                oldest += 1
                if oldest >= 1_024, oldest * 2 >= others.count {
                    others.removeFirst(oldest)
                    oldest = 0
                }
            }
            return others[oldest]
        }
        return firsts.isEmpty ? nil : firsts.removeFirst()
    }

    /// A first that four newer firsts displaced becomes an ordinary version, in its place by age.
    private mutating func demote(_ version: UInt64) {
        guard actors[version] != nil else { return }
        var low = oldest, high = others.count
        while low < high {
            let middle = (low + high) / 2
            if others[middle] < version { low = middle + 1 } else { high = middle }
        }
        others.insert(version, at: low)
    }
}

/// a + b, or Int.max where that overflows (schedules far in the future).
func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? .max : .min) : sum
}
