import Testing
@testable import Adders

/// What an adder emitted, as plain values.
private struct Row: Equatable {
    var observation: Float
    var reward: Float
    var next: Float
    var discount: Float
    var terminated: Bool
    var truncated: Bool
}

/// Steps an adder through `rewards` from observation `start` (observation t is `start + t`, the action its negative),
/// ending the last step with `end`; returns the rows emitted after each step.
private func play(_ adder: inout NStepAdder, from start: Float, rewards: [Double], end: (terminated: Bool, truncated: Bool)) -> [[Row]] {
    var emitted: [[Row]] = []
    for (t, reward) in rewards.enumerated() {
        let observation = [start + Float(t)], action = [-(start + Float(t))], next = [start + Float(t) + 1]
        let last = t == rewards.count - 1
        var rows: [Row] = []
        adder.add(observation: observation, action: action, reward: reward, nextObservation: next,
                  terminated: last && end.terminated, truncated: last && end.truncated) { row in
            #expect(row.action[0] == -row.observation[0], "the action travels with its observation")
            rows.append(Row(observation: row.observation[0], reward: row.reward, next: row.nextObservation[0], discount: row.discount,
                            terminated: row.terminated, truncated: row.truncated))
        }
        emitted.append(rows)
    }
    return emitted
}

@Suite("n-step adder")
struct NStepAdderTests {
    @Test("3-step returns with γ = 0.5, by hand: an episode that terminates, then one that is truncated")
    func handComputed() {
        var adder = NStepAdder(n: 3, gamma: 0.5, observationSize: 1, actionSize: 1)
        // Rewards 1, 2, 4, 8, 16; the fifth step terminates.
        let first = play(&adder, from: 0, rewards: [1, 2, 4, 8, 16], end: (true, false))
        #expect(first[0].isEmpty && first[1].isEmpty)
        #expect(first[2] == [Row(observation: 0, reward: 1 + 0.5 * 2 + 0.25 * 4, next: 3, discount: 0.125, terminated: false, truncated: false)])
        #expect(first[3] == [Row(observation: 1, reward: 2 + 0.5 * 4 + 0.25 * 8, next: 4, discount: 0.125, terminated: false, truncated: false)])
        // The termination cuts every pending return: discount 0, whatever steps each has.
        #expect(first[4] == [
            Row(observation: 2, reward: 4 + 0.5 * 8 + 0.25 * 16, next: 5, discount: 0, terminated: true, truncated: false),
            Row(observation: 3, reward: 8 + 0.5 * 16, next: 5, discount: 0, terminated: true, truncated: false),
            Row(observation: 4, reward: 16, next: 5, discount: 0, terminated: true, truncated: false),
        ])
        // A new episode of two steps, cut by the time limit: both bootstrap from the last observation with γ^k.
        let second = play(&adder, from: 10, rewards: [1, 2], end: (false, true))
        #expect(second[0].isEmpty)
        #expect(second[1] == [
            Row(observation: 10, reward: 1 + 0.5 * 2, next: 12, discount: 0.25, terminated: false, truncated: true),
            Row(observation: 11, reward: 2, next: 12, discount: 0.5, terminated: false, truncated: true),
        ])
    }

    @Test("one step is the one-step transition: r, γ, or 0 where it terminated")
    func oneStep() {
        var adder = NStepAdder(n: 1, gamma: 0.99, observationSize: 1, actionSize: 1)
        let rows = play(&adder, from: 0, rewards: [-1, -2, -3], end: (true, false))
        #expect(rows.map(\.count) == [1, 1, 1])
        #expect(rows.flatMap { $0 }.map(\.discount) == [0.99, 0.99, 0])
        #expect(rows.flatMap { $0 }.map(\.reward) == [-1, -2, -3])
    }

    @Test("an episode shorter than n emits all its steps at its end, and nothing lingers into the next")
    func shortEpisode() {
        var adder = NStepAdder(n: 5, gamma: 0.5, observationSize: 1, actionSize: 1)
        let rows = play(&adder, from: 0, rewards: [1, 1], end: (false, true))
        #expect(rows[1].map(\.discount) == [0.25, 0.5] && rows[1].map(\.reward) == [1.5, 1])
        #expect(adder.pending == 0)
        let next = play(&adder, from: 100, rewards: [1, 1, 1, 1, 1], end: (false, false))
        #expect(next.prefix(4).allSatisfy(\.isEmpty) && next[4].first?.observation == 100)
    }
}
