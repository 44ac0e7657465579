import Randomness
import Tensors

/// A minibatch of transitions in structure-of-arrays layout, preallocated once.
public final class TransitionBatch {
    public let capacity: Int
    public let observations: Matrix
    public let actions: Matrix
    public let rewards: Matrix
    public let nextObservations: Matrix
    /// 1 where the episode terminated (no bootstrap), 0 otherwise, including time-limit truncations.
    public let terminated: Matrix
    /// What multiplies Q′(s′, ·) in the target: γ^k for a k-step transition, 0 after a termination.
    public let discounts: Matrix
    public private(set) var count = 0
    /// The replay slot each row came from, so that a prioritized replay can update those slots' priorities.
    public let slots: UnsafeMutablePointer<Int>
    /// Importance-sampling weights of the rows, which scale each row's critic loss; read only when ``isWeighted``.
    public let weights: Matrix
    /// Whether the rows carry importance weights (a prioritized sample); a uniform sample weighs every row 1.
    public internal(set) var isWeighted = false
    /// Written by the agent's update: |δ| of each row, the TD error a prioritized replay turns into priorities.
    public let tdErrors: Matrix

    public init(capacity: Int, observationSize: Int, actionSize: Int) {
        self.capacity = capacity
        observations = Matrix(rows: capacity, columns: observationSize)
        actions = Matrix(rows: capacity, columns: actionSize)
        rewards = Matrix(rows: capacity, columns: 1)
        nextObservations = Matrix(rows: capacity, columns: observationSize)
        terminated = Matrix(rows: capacity, columns: 1)
        discounts = Matrix(rows: capacity, columns: 1)
        slots = .allocate(capacity: max(capacity, 1))
        slots.initialize(repeating: 0, count: max(capacity, 1))
        weights = Matrix(rows: capacity, columns: 1)
        tdErrors = Matrix(rows: capacity, columns: 1)
    }

    deinit { slots.deallocate() }

    func setCount(_ count: Int) {
        precondition(count <= capacity)
        self.count = count
    }
}

/// A uniform replay buffer: a ring of the last `capacity` transitions,
/// stored as structure-of-arrays Float32 so that a million transitions of
/// Pendulum take 41 MB (``bytesPerTransition``) and sampling is a gather of
/// short contiguous rows.
///
/// Storage is reserved up front but only touched as it fills, so a large
/// capacity costs resident memory only once it is used.
public final class ReplayBuffer {
    public let capacity: Int
    public let observationSize: Int
    public let actionSize: Int
    public private(set) var count = 0
    /// Total transitions ever added (including those since overwritten).
    public private(set) var totalAdded = 0
    private var nextSlot = 0

    private let observations: UnsafeMutablePointer<Float>
    private let actions: UnsafeMutablePointer<Float>
    private let rewards: UnsafeMutablePointer<Float>
    private let nextObservations: UnsafeMutablePointer<Float>
    private let terminals: UnsafeMutablePointer<Float>
    private let truncations: UnsafeMutablePointer<UInt8>
    private let discounts: UnsafeMutablePointer<Float>
    /// The discount of a one-step transition that did not terminate: what ``add(observation:action:reward:nextObservation:terminated:truncated:discount:)``
    /// stores when given none, and what a checkpoint from before discounts were stored restores.
    public let gamma: Float

    /// Sampling by priority, when the replay was made with a ``PrioritizationConfiguration``.
    public let prioritized: PrioritizedReplay?

    public init(capacity: Int, observationSize: Int, actionSize: Int, gamma: Float = 0.99, prioritization: PrioritizationConfiguration? = nil) {
        precondition(capacity > 0, "replay capacity must be positive")
        self.capacity = capacity
        self.gamma = gamma
        prioritized = prioritization.map { PrioritizedReplay(capacity: capacity, configuration: $0) }
        self.observationSize = observationSize
        self.actionSize = actionSize
        // Uninitialized on purpose: pages stay untouched (and out of RSS) until written.
        observations = .allocate(capacity: capacity * observationSize)
        actions = .allocate(capacity: capacity * actionSize)
        rewards = .allocate(capacity: capacity)
        nextObservations = .allocate(capacity: capacity * observationSize)
        terminals = .allocate(capacity: capacity)
        truncations = .allocate(capacity: capacity)
        discounts = .allocate(capacity: capacity)
    }

    deinit {
        observations.deallocate()
        actions.deallocate()
        rewards.deallocate()
        nextObservations.deallocate()
        terminals.deallocate()
        truncations.deallocate()
        discounts.deallocate()
    }

    /// Bytes of storage per transition.
    public var bytesPerTransition: Int { Self.bytesPerTransition(observationSize: observationSize, actionSize: actionSize) }

    public static func bytesPerTransition(observationSize: Int, actionSize: Int) -> Int {
        (2 * observationSize + actionSize + 3) * MemoryLayout<Float>.size + 1
    }

    /// Appends one transition, overwriting the oldest when full. `discount` defaults to a one-step
    /// transition's: 0 if it terminated, else ``gamma``.
    public func add(
        observation: UnsafePointer<Float>, action: UnsafePointer<Float>, reward: Float,
        nextObservation: UnsafePointer<Float>, terminated: Bool, truncated: Bool, discount: Float? = nil
    ) {
        let slot = nextSlot
        (observations + slot * observationSize).update(from: observation, count: observationSize)
        (actions + slot * actionSize).update(from: action, count: actionSize)
        rewards[slot] = reward
        (nextObservations + slot * observationSize).update(from: nextObservation, count: observationSize)
        terminals[slot] = terminated ? 1 : 0
        truncations[slot] = truncated ? 1 : 0
        discounts[slot] = discount ?? (terminated ? 0 : gamma)
        prioritized?.inserted(startingAt: slot, count: 1)
        nextSlot = slot + 1 == capacity ? 0 : slot + 1
        count = Swift.min(count + 1, capacity)
        totalAdded += 1
    }

    /// Appends `count` transitions given as columns of host-order Float32 (and one
    /// byte per flag), possibly unaligned, as they sit in a received message.
    /// Each column is copied with at most two `memcpy`s (the ring may wrap).
    public func append(
        count: Int, observations: UnsafeRawPointer, actions: UnsafeRawPointer, rewards: UnsafeRawPointer,
        nextObservations: UnsafeRawPointer, terminated: UnsafePointer<UInt8>, truncated: UnsafePointer<UInt8>, discounts: UnsafeRawPointer
    ) {
        var done = 0
        while done < count {
            let slot = nextSlot
            let n = Swift.min(count - done, capacity - slot)
            let o = observationSize, a = actionSize, f = MemoryLayout<Float>.size
            UnsafeMutableRawPointer(self.observations + slot * o).copyMemory(from: observations + done * o * f, byteCount: n * o * f)
            UnsafeMutableRawPointer(self.actions + slot * a).copyMemory(from: actions + done * a * f, byteCount: n * a * f)
            UnsafeMutableRawPointer(self.rewards + slot).copyMemory(from: rewards + done * f, byteCount: n * f)
            UnsafeMutableRawPointer(self.nextObservations + slot * o).copyMemory(from: nextObservations + done * o * f, byteCount: n * o * f)
            UnsafeMutableRawPointer(self.discounts + slot).copyMemory(from: discounts + done * f, byteCount: n * f)
            for i in 0..<n {
                terminals[slot + i] = terminated[done + i] != 0 ? 1 : 0
                truncations[slot + i] = truncated[done + i] != 0 ? 1 : 0
            }
            prioritized?.inserted(startingAt: slot, count: n)
            done += n
            nextSlot = slot + n == capacity ? 0 : slot + n
            self.count = Swift.min(self.count + n, capacity)
            totalAdded += n
        }
    }

    /// Fills `batch` with `size` transitions: by priority with importance exponent `beta` when the
    /// replay is prioritized, otherwise uniformly.
    public func sample<G: RandomNumberGenerator>(_ size: Int, into batch: TransitionBatch, beta: Double, using generator: inout G) {
        if let prioritized {
            prioritized.sample(size, from: self, beta: beta, into: batch, using: &generator)
        } else {
            sample(size, into: batch, using: &generator)
        }
    }

    /// After an update on `batch`: new priorities from the TD errors the agent wrote into it (nothing if uniform).
    public func updatePriorities(from batch: TransitionBatch) {
        prioritized?.updatePriorities(from: batch)
    }

    /// Fills `batch` with `size` transitions drawn uniformly with replacement.
    public func sample<G: RandomNumberGenerator>(_ size: Int, into batch: TransitionBatch, using generator: inout G) {
        precondition(count > 0, "cannot sample from an empty replay buffer")
        precondition(size <= batch.capacity, "batch of \(size) exceeds its capacity \(batch.capacity)")
        for i in 0..<size { batch.slots[i] = generator.nextIndex(below: count) }
        gather(size, into: batch)
        batch.isWeighted = false
    }

    /// Copies the transitions in the first `size` of `batch.slots` into `batch`'s rows.
    func gather(_ size: Int, into batch: TransitionBatch) {
        let o = observationSize, a = actionSize
        let obs = batch.observations.storage, act = batch.actions.storage
        let rew = batch.rewards.storage, next = batch.nextObservations.storage, term = batch.terminated.storage
        let discount = batch.discounts.storage
        for i in 0..<size {
            let j = batch.slots[i]
            precondition(j >= 0 && j < count, "slot \(j) outside the \(count) filled")
            (obs + i * o).update(from: observations + j * o, count: o)
            (act + i * a).update(from: actions + j * a, count: a)
            rew[i] = rewards[j]
            (next + i * o).update(from: nextObservations + j * o, count: o)
            term[i] = terminals[j]
            discount[i] = discounts[j]
        }
        batch.setCount(size)
    }

    /// The filled slots, column by column, for a checkpoint: `body(name, bytes)` is
    /// called once per column with its raw host-order bytes (Float32, or UInt8 for truncations).
    public func forEachColumn(_ body: (String, UnsafeRawBufferPointer) throws -> Void) rethrows {
        let o = observationSize, a = actionSize, f = MemoryLayout<Float>.size
        try body("replay_observations", UnsafeRawBufferPointer(start: observations, count: count * o * f))
        try body("replay_actions", UnsafeRawBufferPointer(start: actions, count: count * a * f))
        try body("replay_rewards", UnsafeRawBufferPointer(start: rewards, count: count * f))
        try body("replay_next_observations", UnsafeRawBufferPointer(start: nextObservations, count: count * o * f))
        try body("replay_terminated", UnsafeRawBufferPointer(start: terminals, count: count * f))
        try body("replay_truncated", UnsafeRawBufferPointer(start: truncations, count: count))
        try body("replay_discounts", UnsafeRawBufferPointer(start: discounts, count: count * f))
        if let prioritized { try prioritized.savedPriorities(count: count).withUnsafeBytes { try body("replay_priorities", $0) } }
    }

    /// Where the ring stands, for a checkpoint.
    public var ringPosition: (count: Int, nextSlot: Int, totalAdded: Int) { (count, nextSlot, totalAdded) }

    /// The observations of the last `n` transitions added (at most the capacity), in one or two runs of
    /// contiguous rows where the ring wraps: `body(rows, count)`.
    public func forEachRecentObservations(_ n: Int, _ body: (UnsafePointer<Float>, Int) -> Void) {
        let n = Swift.min(n, count), start = (nextSlot - n + capacity) % capacity
        let first = Swift.min(n, capacity - start)
        if first > 0 { body(observations + start * observationSize, first) }
        if n > first { body(observations, n - first) }
    }

    /// Refills the buffer from columns written by ``forEachColumn(_:)``. `column(name)`
    /// returns that column's bytes, which must hold exactly `count` transitions. Checkpoints from
    /// before discounts were stored have none: their transitions were one-step, so the discount is
    /// rebuilt from the terminal flags.
    public func restore(count: Int, nextSlot: Int, totalAdded: Int, column: (String) -> [UInt8]?) -> Bool {
        guard (0...capacity).contains(count), (0..<capacity).contains(nextSlot) || (count == 0 && nextSlot == 0), totalAdded >= count else { return false }
        let o = observationSize, a = actionSize, f = MemoryLayout<Float>.size
        let targets: [(String, UnsafeMutableRawPointer, Int)] = [
            ("replay_observations", UnsafeMutableRawPointer(observations), count * o * f),
            ("replay_actions", UnsafeMutableRawPointer(actions), count * a * f),
            ("replay_rewards", UnsafeMutableRawPointer(rewards), count * f),
            ("replay_next_observations", UnsafeMutableRawPointer(nextObservations), count * o * f),
            ("replay_terminated", UnsafeMutableRawPointer(terminals), count * f),
            ("replay_truncated", UnsafeMutableRawPointer(truncations), count),
        ]
        for (name, _, bytes) in targets {
            guard let source = column(name), source.count == bytes else { return false }
        }
        let savedDiscounts = column("replay_discounts")
        guard savedDiscounts == nil || savedDiscounts!.count == count * f else { return false }
        let savedPriorities = prioritized == nil ? nil : column("replay_priorities")
        if let savedPriorities, !prioritized!.restorePriorities(savedPriorities, count: count) { return false }
        for (name, destination, bytes) in targets where bytes > 0 {
            column(name)!.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        }
        if let savedDiscounts, count > 0 {
            savedDiscounts.withUnsafeBytes { UnsafeMutableRawPointer(discounts).copyMemory(from: $0.baseAddress!, byteCount: count * f) }
        } else {
            for i in 0..<count { discounts[i] = terminals[i] != 0 ? 0 : gamma }
        }
        self.count = count
        self.nextSlot = nextSlot
        self.totalAdded = totalAdded
        // A checkpoint of a uniform replay (or from before priorities were saved) has none: its
        // transitions start at the largest priority, as new ones do.
        if savedPriorities == nil { prioritized?.inserted(startingAt: 0, count: count) }
        return true
    }

    /// Whether the transition in `slot` ended its episode by the time limit (for inspection and tests).
    public func isTruncated(slot: Int) -> Bool { truncations[slot] != 0 }
    public func isTerminated(slot: Int) -> Bool { terminals[slot] != 0 }
    public func reward(slot: Int) -> Float { rewards[slot] }
}
