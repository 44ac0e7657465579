/// Which rejections reach the log: the first ten of the run in full, then one in
/// full per interval, and once per interval a count by reason of the ones left
/// out, so that a flood neither fills the disk nor goes unmentioned.
struct RejectionLog {
    static let logInFull = 10
    static let interval = 10.0
    private var logged = 0
    private var lastFullAt = -Double.infinity
    private var lastSummaryAt = 0.0
    private(set) var suppressed: [String: Int] = [:]

    /// Whether to log this rejection in full; if not, it is counted for the next ``summary(now:)``.
    mutating func shouldLog(now: Double, reason: String) -> Bool {
        if logged < Self.logInFull || now - lastFullAt >= Self.interval {
            logged += 1
            lastFullAt = now
            return true
        }
        suppressed[reason, default: 0] += 1
        return false
    }

    /// The line about rejections not logged, at most once per interval (`now` infinite: whatever is left).
    mutating func summary(now: Double) -> String? {
        guard !suppressed.isEmpty, now - lastSummaryAt >= Self.interval else { return nil }
        lastSummaryAt = now
        let total = suppressed.values.reduce(0, +)
        let reasons = suppressed.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        suppressed.removeAll()
        return "\(total) more rejected messages were not logged one by one (\(reasons))"
    }
}
