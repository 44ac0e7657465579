import Foundation
import Randomness
import Settings

/// Settings of prioritized replay (Schaul et al. 2016, proportional variant; Ape-X's defaults).
public struct PrioritizationConfiguration: DefaultedConfiguration, Sendable, Equatable {
    /// Priorities enter sampling as p^α: 0 is uniform, 1 fully proportional.
    public var alpha = 0.6
    /// The importance-sampling exponent at the start of the run; it anneals linearly to 1 by the last env step.
    public var initialBeta = 0.4
    /// Added to |δ| so that no transition's probability becomes 0.
    public var epsilon = 1e-6

    public init() {}

    /// β after `envSteps` of a run of `maxEnvSteps`: `initialBeta` rising linearly to 1.
    public func beta(envSteps: Int, maxEnvSteps: Int) -> Double {
        let progress = maxEnvSteps > 0 ? min(1, Double(max(envSteps, 0)) / Double(maxEnvSteps)) : 1
        return initialBeta + (1 - initialBeta) * progress
    }

    public func validate() throws(ConfigurationError) {
        let check = ConfigurationError.check
        try check(alpha >= 0 && alpha <= 1, "alpha", "must be in [0, 1], got \(alpha)")
        try check(initialBeta >= 0 && initialBeta <= 1, "initialBeta", "must be in [0, 1], got \(initialBeta)")
        try check(epsilon > 0 && epsilon.isFinite, "epsilon", "must be positive, got \(epsilon)")
    }
}

/// Which replay slots to sample, in proportion to p^α, with the importance weights that undo the bias.
///
/// It holds one priority per slot of a ``ReplayBuffer`` of the same capacity and learns of inserts
/// through ``inserted(startingAt:count:)``: new transitions get the largest priority seen so far, so
/// each is likely replayed at least once. After an update, ``updatePriorities(from:)`` sets the
/// sampled slots' priorities to (|δ| + ε)^α from the TD errors the agent wrote into the batch.
public final class PrioritizedReplay {
    public let configuration: PrioritizationConfiguration
    public let capacity: Int
    let tree: PriorityTree
    /// Each slot's priority |δ| + ε before α, kept so that a checkpoint restores it under any α.
    private let priorities: UnsafeMutablePointer<Float>
    /// The largest priority (|δ| + ε, before α) given so far.
    public private(set) var maxPriority = 1.0

    public init(capacity: Int, configuration: PrioritizationConfiguration) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.configuration = configuration
        tree = PriorityTree(capacity: capacity)
        priorities = .allocate(capacity: capacity)
        priorities.initialize(repeating: 0, count: capacity)
    }

    deinit { priorities.deallocate() }

    /// Slots `slot`, `slot + 1`, … (wrapping at the capacity) now hold `count` new transitions.
    public func inserted(startingAt slot: Int, count: Int) {
        for i in 0..<min(count, capacity) { setPriority(maxPriority, slot: (slot + i) % capacity) }
    }

    /// `priority` is always a Float32 value, so that what a checkpoint keeps is exactly what was in use.
    private func setPriority(_ priority: Double, slot: Int) {
        priorities[slot] = Float(priority)
        tree.set(slot, pow(priority, configuration.alpha))
    }

    /// Slot `slot`'s priority |δ| + ε before α (for tests and inspection).
    public func priority(ofSlot slot: Int) -> Float { priorities[slot] }

    /// The first `count` slots' priorities and the largest priority seen, for a checkpoint: `count`
    /// Float32 values, then ``maxPriority`` as one Float64, in host byte order.
    public func savedPriorities(count: Int) -> [UInt8] {
        precondition(count <= capacity)
        var bytes = Array(UnsafeRawBufferPointer(start: priorities, count: count * MemoryLayout<Float>.size))
        withUnsafeBytes(of: maxPriority) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Restores what ``savedPriorities(count:)`` wrote for `count` slots, under this run's α. Returns
    /// false, changing nothing, when the bytes are not `count` priorities and a maximum, all finite and
    /// positive (a checkpoint never holds anything else).
    public func restorePriorities(_ bytes: [UInt8], count: Int) -> Bool {
        let f = MemoryLayout<Float>.size, d = MemoryLayout<Double>.size
        guard count <= capacity, bytes.count == count * f + d else { return false }
        let (saved, savedMax) = bytes.withUnsafeBytes { raw in
            ((0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * f, as: Float.self) }, raw.loadUnaligned(fromByteOffset: count * f, as: Double.self))
        }
        guard savedMax.isFinite, savedMax > 0, saved.allSatisfy({ $0.isFinite && $0 > 0 && Double($0) <= savedMax }) else { return false }
        maxPriority = savedMax
        for (slot, priority) in saved.enumerated() { setPriority(Double(priority), slot: slot) }
        return true
    }

    /// Fills `batch` with `size` transitions of the first `replay.count` slots, drawn in proportion to
    /// p^α (one draw in each of `size` equal slices of the total, as Schaul et al. do), and their
    /// importance weights w = (N·P(i))^−β scaled so that the batch's largest is 1, as Acme does:
    /// w_i = (min_j P(j) / P(i))^β over the batch. The weights only ever scale an update down.
    public func sample<G: RandomNumberGenerator>(_ size: Int, from replay: ReplayBuffer, beta: Double, into batch: TransitionBatch,
                                                 using generator: inout G) {
        precondition(replay.capacity == capacity && replay.count > 0 && size > 0 && size <= batch.capacity)
        let filled = replay.count, total = tree.total, slice = total / Double(size)
        var smallest = Double.infinity
        for i in 0..<size {
            let mass = (Double(i) + generator.nextUnitDouble()) * slice
            // Rounding can land past the last filled slot, whose neighbours hold nothing; it then takes the last.
            let slot = min(tree.find(mass: min(mass, total.nextDown)), filled - 1)
            batch.slots[i] = slot
            smallest = min(smallest, tree.value(slot))
        }
        let weights = batch.weights.storage
        for i in 0..<size { weights[i] = Float(pow(smallest / tree.value(batch.slots[i]), beta)) }
        replay.gather(size, into: batch)
        batch.isWeighted = true
    }

    /// Sets each sampled slot's priority to (|δ| + ε)^α. A non-finite δ (an update that diverged and
    /// will be rolled back) leaves its slot's priority as it was.
    public func updatePriorities(from batch: TransitionBatch) {
        let errors = batch.tdErrors.storage
        for i in 0..<batch.count where errors[i].isFinite {
            let priority = Double(Float(min(Double(abs(errors[i])) + configuration.epsilon, Double(Float.greatestFiniteMagnitude))))
            maxPriority = max(maxPriority, priority)
            setPriority(priority, slot: batch.slots[i])
        }
    }

    /// Slot `slot`'s sampling probability, p^α / Σ p^α (for tests and inspection).
    public func probability(ofSlot slot: Int) -> Double { tree.value(slot) / tree.total }
}

/// A binary tree over `capacity` leaves whose inner nodes hold the sum of their leaves: the total is
/// read at the root, and a leaf is found by its prefix sum in O(log n). Leaves not yet set hold 0.
final class PriorityTree {
    let capacity: Int
    /// Leaves start at `leafBase`, a power of two; node k's children are 2k and 2k + 1; the root is 1.
    private let leafBase: Int
    private let sums: UnsafeMutablePointer<Double>

    init(capacity: Int) {
        self.capacity = capacity
        var base = 1
        while base < capacity { base *= 2 }
        leafBase = base
        sums = .allocate(capacity: 2 * base)
        sums.initialize(repeating: 0, count: 2 * base)
    }

    deinit { sums.deallocate() }

    var total: Double { sums[1] }

    /// The sum stored at inner node `node` (1 is the root), for the invariant tests.
    func node(_ node: Int) -> Double { sums[node] }
    var innerNodes: Range<Int> { 1..<leafBase }
    func children(_ node: Int) -> (Double, Double) { (sums[2 * node], sums[2 * node + 1]) }

    func value(_ leaf: Int) -> Double { sums[leafBase + leaf] }

    func set(_ leaf: Int, _ value: Double) {
        precondition(leaf >= 0 && leaf < capacity && value >= 0 && value.isFinite)
        var node = leafBase + leaf
        sums[node] = value
        node /= 2
        while node >= 1 {
            sums[node] = sums[2 * node] + sums[2 * node + 1]
            node /= 2
        }
    }

    /// The leaf whose prefix-sum interval [Σ before it, Σ through it) contains `mass`, for 0 ≤ mass < total.
    func find(mass: Double) -> Int {
        var node = 1, remaining = mass
        while node < leafBase {
            let left = sums[2 * node]
            if remaining < left {
                node = 2 * node
            } else {
                remaining -= left
                node = 2 * node + 1
            }
        }
        return node - leafBase
    }
}
