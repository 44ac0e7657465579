import Foundation
import Testing
@testable import Plotting

/// A GIF reader written from the GIF89a specification, independent of the encoder: it
/// returns each frame's palette indices and delay, and fails on any structural error.
struct GIFReader {
    var width = 0, height = 0, colors = 0, loops = false
    var frames: [(pixels: [UInt8], delay: Int)] = []

    enum Failure: Error { case malformed(String) }

    init(_ bytes: [UInt8]) throws {
        var i = 0
        func byte() throws -> Int {
            guard i < bytes.count else { throw Failure.malformed("ends at \(i)") }
            defer { i += 1 }
            return Int(bytes[i])
        }
        func u16() throws -> Int {
            let low = try byte(), high = try byte()
            return low | high << 8
        }
        func subBlocks() throws -> [UInt8] {
            var data: [UInt8] = []
            while true {
                let n = try byte()
                if n == 0 { return data }
                guard i + n <= bytes.count else { throw Failure.malformed("sub-block past the end") }
                data += bytes[i..<i + n]
                i += n
            }
        }
        guard bytes.count > 13, String(decoding: bytes[0..<6], as: UTF8.self) == "GIF89a" else { throw Failure.malformed("signature") }
        i = 6
        width = try u16()
        height = try u16()
        let flags = try byte()
        _ = try byte(); _ = try byte()
        guard flags & 0x80 != 0 else { throw Failure.malformed("no global colour table") }
        colors = 1 << ((flags & 7) + 1)
        i += 3 * colors
        var delay = 0
        while true {
            switch try byte() {
            case 0x21:
                let label = try byte()
                let block = try subBlocks()
                if label == 0xF9 { delay = Int(block[1]) | Int(block[2]) << 8 }
                if label == 0xFF, String(decoding: block.prefix(11), as: UTF8.self) == "NETSCAPE2.0" { loops = true }
            case 0x2C:
                let (x, y, w, h) = (try u16(), try u16(), try u16(), try u16())
                let localTable = try byte() & 0x80
                guard x == 0, y == 0, w == width, h == height, localTable == 0 else { throw Failure.malformed("frame geometry") }
                let minimum = try byte()
                frames.append((try Self.decode(try subBlocks(), minimum: minimum, count: w * h), delay))
            case 0x3B:
                guard i == bytes.count else { throw Failure.malformed("bytes after the trailer") }
                return
            case let other:
                throw Failure.malformed("unknown block 0x\(String(other, radix: 16)) at \(i - 1)")
            }
        }
    }

    static func decode(_ data: [UInt8], minimum: Int, count: Int) throws -> [UInt8] {
        let clear = 1 << minimum, end = clear + 1
        var size = minimum + 1, bit = 0
        var table: [[UInt8]] = []
        func reset() {
            table = (0..<clear).map { [UInt8($0)] } + [[], []]
            size = minimum + 1
        }
        func read() -> Int? {
            guard bit + size <= data.count * 8 else { return nil }
            var code = 0
            for k in 0..<size where data[(bit + k) / 8] & (1 << ((bit + k) % 8)) != 0 { code |= 1 << k }
            bit += size
            return code
        }
        reset()
        var out: [UInt8] = [], previous: [UInt8]?
        while let code = read() {
            if code == clear { reset(); previous = nil; continue }
            if code == end { break }
            let entry: [UInt8]
            if code < table.count, !table[code].isEmpty || code < clear {
                entry = table[code]
            } else if code == table.count, let previous {
                entry = previous + [previous[0]]
            } else {
                throw Failure.malformed("code \(code) with \(table.count) entries")
            }
            out += entry
            if let previous, table.count < 4_096 {
                table.append(previous + [entry[0]])
                if table.count == 1 << size, size < 12 { size += 1 }
            }
            previous = entry
        }
        guard out.count == count else { throw Failure.malformed("\(out.count) pixels, expected \(count)") }
        return out
    }
}

@Suite("Animated GIF of the swing-up")
struct GIFTests {
    @Test("LZW round-trips through an independent decoder, across table resets and every code width")
    func lzw() throws {
        var generator = SystemRandomNumberGenerator()
        // Noise fills the 4,096-entry table several times; runs make long codes.
        let noise = (0..<40_000).map { _ in UInt8.random(in: 0..<8, using: &generator) }
        let runs = (0..<40_000).map { UInt8(($0 / 700) % 8) }
        for pixels in [noise, runs, [UInt8](repeating: 3, count: 1), [0, 1]] {
            let encoded = GIFEncoder.lzw(pixels, minimumCodeSize: 3)
            #expect(try GIFReader.decode(encoded, minimum: 3, count: pixels.count) == pixels)
        }
    }

    @Test("the episode animation has one looping frame per step, 50 ms each, showing the pendulum where it is")
    func animation() throws {
        let frames = (0..<200).map { PendulumFrame(theta: Double($0) * 0.05, torque: sin(Double($0) / 10) * 2, runningReturn: -Double($0)) }
        let bytes = SwingUpAnimation.gif(frames, secondsPerStep: 0.05, maxTorque: 2)
        let gif = try GIFReader(bytes)
        #expect(gif.width == PendulumRaster.width && gif.height == PendulumRaster.height && gif.colors == 8 && gif.loops)
        #expect(gif.frames.count == 200 && gif.frames.allSatisfy { $0.delay == 5 })
        for index in [0, 57, 199] {
            #expect(gif.frames[index].pixels == PendulumRaster.draw(frames[index], step: index, maxTorque: 2), "frame \(index) decodes to what was drawn")
        }
        // Upright (θ = 0): the bob is straight above the pivot; hanging (θ = π): below it.
        let upright = PendulumRaster.draw(PendulumFrame(theta: 0, torque: 0, runningReturn: 0), step: 0, maxTorque: 2)
        let hanging = PendulumRaster.draw(PendulumFrame(theta: .pi, torque: 0, runningReturn: 0), step: 0, maxTorque: 2)
        func color(_ pixels: [UInt8], _ x: Int, _ y: Int) -> UInt8 { pixels[y * PendulumRaster.width + x] }
        #expect(color(upright, 120, 45) == PendulumRaster.Color.bob.rawValue && color(upright, 120, 205) != PendulumRaster.Color.bob.rawValue)
        #expect(color(hanging, 120, 205) == PendulumRaster.Color.bob.rawValue)
        let still = try GIFReader(SwingUpAnimation.gif(frames, secondsPerStep: 0.05, maxTorque: 2, frame: 57))
        #expect(still.frames.count == 1 && !still.loops)
    }
}

@Suite("Animated GIFs of MountainCarContinuous and CartPole")
struct ClassicControlGIFTests {
    @Test("the car climbs: one frame a step, and the car's pixels move up the hill toward the flag")
    func mountainCar() throws {
        let frames = (0..<90).map { MountainCarFrame(position: -0.5 + Double($0) * 0.01, force: 1, runningReturn: Double($0) * -0.1) }
        let gif = try GIFReader(ClassicControlAnimation.mountainCarGIF(frames))
        #expect(gif.width == ClassicControlAnimation.width && gif.height == ClassicControlAnimation.height && gif.loops)
        #expect(gif.frames.count == 90 && gif.frames.allSatisfy { $0.delay == 3 })
        func carCentre(_ pixels: [UInt8]) -> (x: Double, y: Double) {
            let car = pixels.indices.filter { pixels[$0] == ClassicControlAnimation.Color.car.rawValue }
            return (car.map { Double($0 % ClassicControlAnimation.width) }.reduce(0, +) / Double(car.count),
                    car.map { Double($0 / ClassicControlAnimation.width) }.reduce(0, +) / Double(car.count))
        }
        let start = carCentre(gif.frames[0].pixels), end = carCentre(gif.frames[89].pixels)
        #expect(end.x > start.x + 40 && end.y < start.y - 20, "from the valley (x −0.5) up the right slope (x 0.39): \(start) → \(end)")
    }

    @Test("the cart and pole are drawn where the state says, leaning as θ does")
    func cartPole() throws {
        let frames = [CartPoleFrame(x: -1, theta: 0.2, push: 1, runningReturn: 1), CartPoleFrame(x: 1, theta: -0.2, push: 0, runningReturn: 2)]
        let gif = try GIFReader(ClassicControlAnimation.cartPoleGIF(frames))
        #expect(gif.frames.count == 2 && gif.frames.allSatisfy { $0.delay == 2 })
        func mean(_ pixels: [UInt8], _ color: ClassicControlAnimation.Color) -> Double {
            let hits = pixels.indices.filter { pixels[$0] == color.rawValue }
            return hits.map { Double($0 % ClassicControlAnimation.width) }.reduce(0, +) / Double(hits.count)
        }
        let width = Double(ClassicControlAnimation.width), scale = width / 4.8
        for (frame, decoded) in zip(frames, gif.frames) {
            let cart = mean(decoded.pixels, .car), pole = mean(decoded.pixels, .pole)
            #expect(abs(cart - (width / 2 + frame.x * scale)) < 1.5, "the cart at x \(frame.x)")
            #expect((pole - cart) * frame.theta > 0, "the pole leans the way θ says (\(frame.theta))")
        }
    }
}
