import Randomness
@testable import Agents
@testable import Replay

/// The configuration of the small agents these tests build: [16, 16] networks and batches of 8.
func smallConfiguration(_ algorithm: AlgorithmID, configure: (inout AgentConfiguration) -> Void) -> AgentConfiguration {
    var config = AgentConfiguration()
    config.algorithm = algorithm
    config.actorHiddenSizes = [16, 16]
    config.criticHiddenSizes = [16, 16]
    config.batchSize = 8
    config.finalLayerInitScale = 0.3
    configure(&config)
    return config
}

/// An agent made by `make` on asymmetric bounds ([−1, 3] and [−2, 2]) for 3 observations, and a fixed
/// batch of 8 random transitions, one terminated and one truncated; both drawn from one seed.
func smallAgent<A>(_ configuration: AgentConfiguration,
                   make: ([Float], [Float], inout Xoshiro256) -> A) -> (A, TransitionBatch) {
    var generator = Xoshiro256(seed: 8)
    let agent = make([-1, -2], [3, 2], &generator)
    let batch = TransitionBatch(capacity: 8, observationSize: 3, actionSize: 2)
    let replay = ReplayBuffer(capacity: 8, observationSize: 3, actionSize: 2, gamma: configuration.discount)
    for i in 0..<8 {
        let s = (0..<3).map { _ in generator.nextUniform(Float(-1), 1) }
        let s2 = (0..<3).map { _ in generator.nextUniform(Float(-1), 1) }
        replay.add(observation: s, action: [generator.nextUniform(Float(-1), 3), generator.nextUniform(Float(-2), 2)], reward: -Float(i),
                   nextObservation: s2, terminated: i == 3, truncated: i == 7)
    }
    for i in 0..<8 { batch.slots[i] = i }
    replay.gather(8, into: batch)
    return (agent, batch)
}
