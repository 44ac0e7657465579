import Foundation
import Randomness
import Testing
@testable import Environments

@Suite("Pendulum-v1 semantics")
struct PendulumTests {
    static let normalizationCases: [(input: Double, expected: Double)] = [
        (0, 0), (Double.pi, -Double.pi), (-Double.pi, -Double.pi), (1.5 * Double.pi, -0.5 * Double.pi),
        (-1.5 * Double.pi, 0.5 * Double.pi), (7, 7 - 2 * Double.pi), (-20, -20 + 6 * Double.pi),
    ]

    @Test("angle normalization follows Python's floored modulo")
    func angleNormalize() {
        for (input, expected) in Self.normalizationCases {
            #expect(abs(Pendulum.angleNormalize(input) - expected) < 1e-12, "normalize(\(input))")
        }
    }

    @Test("Python modulo takes the divisor's sign")
    func pythonModulo() {
        #expect(Pendulum.pythonModulo(-1, 3) == 2)
        #expect(Pendulum.pythonModulo(1, -3) == -2)
        #expect(Pendulum.pythonModulo(6, 3) == 0)
    }

    @Test("torque is clipped to ±2 before the reward and the dynamics")
    func torqueClip() {
        var a = Pendulum(), b = Pendulum()
        a.setState(theta: 0.3, thetaDot: -0.2)
        b.setState(theta: 0.3, thetaDot: -0.2)
        var o1 = [Float](repeating: 0, count: 3), o2 = o1
        let r1 = a.step(torque: 5, observation: &o1)
        let r2 = b.step(torque: 2, observation: &o2)
        #expect(r1 == r2)
        #expect(o1 == o2)
    }

    @Test("episodes truncate after 200 steps and never terminate")
    func timeLimit() {
        var env = Pendulum()
        var generator = Xoshiro256(seed: 5)
        var observation = [Float](repeating: 0, count: 3)
        env.reset(using: &generator, observation: &observation)
        for t in 1...200 {
            let result = env.step(torque: 0.5, observation: &observation)
            #expect(!result.terminated)
            #expect(result.truncated == (t == 200))
        }
    }

    @Test("reset draws θ in [−π, π] and θ̇ in [−1, 1], reproducibly from the seed")
    func reset() {
        var generator = Xoshiro256(seed: 9), again = Xoshiro256(seed: 9)
        var env = Pendulum(), twin = Pendulum()
        var observation = [Float](repeating: 0, count: 3)
        var sawNegative = false, sawPositive = false
        for _ in 0..<1000 {
            env.reset(using: &generator, observation: &observation)
            twin.reset(using: &again, observation: &observation)
            #expect(env.theta == twin.theta && env.thetaDot == twin.thetaDot)
            #expect(abs(env.theta) <= Double.pi && abs(env.thetaDot) <= 1)
            #expect(abs(Double(observation[0]) - cos(env.theta)) < 1e-6)
            sawNegative = sawNegative || env.theta < -2
            sawPositive = sawPositive || env.theta > 2
        }
        #expect(sawNegative && sawPositive)
    }

    @Test("θ̇ is clipped to ±8")
    func speedClip() {
        var env = Pendulum()
        env.setState(theta: Double.pi / 2, thetaDot: 7.9)
        var observation = [Float](repeating: 0, count: 3)
        _ = env.step(torque: 2, observation: &observation)
        #expect(env.thetaDot == 8)
        #expect(observation[2] == 8)
    }
}

@Suite("NumPy's float32 square")
struct LibmSquareTests {
    @inline(never)
    static func two() -> Float { 2 }

    @Test("equals libm powf(u, 2) on ties, near-ties and random torques")
    func matchesPowf() {
        var generator = Xoshiro256(seed: 17)
        var values: [Float] = [0, -0.0, 2, -2, 1, -1.280517578125, 0.000490501872, 0.000491819577]
        for _ in 0..<200_000 { values.append(generator.nextUniform(Float(-2), 2)) }
        // Every float32 near the tie found in the reference data.
        var u = Float(-1.280517578125)
        for _ in 0..<4096 {
            values.append(u)
            u = u.nextUp
        }
        var mismatches = 0
        for value in values where Pendulum.libmSquare(value) != powf(value, Self.two()) {
            mismatches += 1
        }
        #expect(mismatches == 0)
        #expect(Pendulum.libmSquare(-1.280517578125) != Float(-1.280517578125) * Float(-1.280517578125), "the recorded tie rounds differently from u * u")
    }
}
