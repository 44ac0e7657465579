@testable import Learning
import Testing

@Suite("Actors kept for --until-return")
struct KeptActorsTests {
    /// Eight actors fill the store.
    static let size = KeptActors.floatsLimit / 8

    static func keep(_ versions: [(UInt64, first: Bool)], into kept: inout KeptActors) {
        for (version, first) in versions { kept.keep([Float](repeating: Float(version), count: size), version: version, first: first) }
    }

    @Test("a full store drops the oldest version that is not one of the newest requests' firsts")
    func evictsOldestOrdinary() throws {
        var kept = KeptActors()
        // Firsts 1, 3, 5, 7 and ordinary 2, 4, 6, 8: full.
        Self.keep((1...8).map { ($0, first: $0 % 2 == 1) }, into: &kept)
        #expect((1...8).allSatisfy { kept.state(version: $0) != nil })

        Self.keep([(9, first: true)], into: &kept)
        #expect(kept.state(version: 2) == nil, "the oldest ordinary version goes first")
        #expect(kept.state(version: 1) != nil, "a first is kept while ordinary versions remain")
        #expect(try #require(kept.state(version: 9)).first == 9)

        // Version 9 made 1 the fifth-newest first: it is ordinary now, and the oldest of them.
        Self.keep([(10, first: false)], into: &kept)
        #expect(kept.state(version: 1) == nil)
        #expect(kept.state(version: 4) != nil)

        Self.keep([(11, first: false)], into: &kept)
        #expect(kept.state(version: 4) == nil)
        #expect(kept.state(version: 3) != nil, "3 is still one of the four newest firsts")
        #expect([3, 5, 6, 7, 8, 9, 10, 11].allSatisfy { kept.state(version: $0) != nil })
    }

    @Test("with nothing but firsts kept, the oldest first goes")
    func evictsFirstsLast() {
        var kept = KeptActors()
        let big = KeptActors.floatsLimit / 2
        kept.keep([Float](repeating: 1, count: big), version: 1, first: true)
        kept.keep([Float](repeating: 2, count: big), version: 2, first: true)
        kept.keep([Float](repeating: 3, count: big), version: 3, first: false)
        #expect(kept.state(version: 1) == nil)
        #expect(kept.state(version: 2) != nil)
        #expect(kept.state(version: 3) != nil)
    }
}
