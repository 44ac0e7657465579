import Foundation

/// Frames of the pendulum drawn into palette pixels, for `ddpg render --out *.gif`:
/// the rod and bob, the torque bar, and the step, torque and return in a 5×7 font.
enum PendulumRaster {
    static let palette: [(UInt8, UInt8, UInt8)] = [
        (255, 255, 255), (221, 221, 221), (192, 57, 43), (142, 42, 31), (51, 51, 51), (46, 134, 193), (34, 34, 34), (242, 242, 242),
    ]
    enum Color: UInt8 { case white, guide, rod, bob, pivot, torque, text, track }

    static let width = 240, height = 280

    struct Canvas {
        var pixels = [UInt8](repeating: Color.white.rawValue, count: PendulumRaster.width * PendulumRaster.height)

        mutating func set(_ x: Int, _ y: Int, _ color: Color) {
            guard x >= 0, y >= 0, x < PendulumRaster.width, y < PendulumRaster.height else { return }
            pixels[y * PendulumRaster.width + x] = color.rawValue
        }

        mutating func rect(_ x0: Int, _ y0: Int, _ w: Int, _ h: Int, _ color: Color) {
            for y in y0..<(y0 + h) { for x in x0..<(x0 + w) { set(x, y, color) } }
        }

        /// Pixels within `radius` of the segment: a line with round caps.
        mutating func capsule(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, radius: Double, _ color: Color) {
            let minX = Int(min(ax, bx) - radius - 1), maxX = Int(max(ax, bx) + radius + 1)
            let minY = Int(min(ay, by) - radius - 1), maxY = Int(max(ay, by) + radius + 1)
            let dx = bx - ax, dy = by - ay, length2 = max(dx * dx + dy * dy, 1e-9)
            for y in minY...maxY {
                for x in minX...maxX {
                    let px = Double(x) + 0.5, py = Double(y) + 0.5
                    let t = min(max(((px - ax) * dx + (py - ay) * dy) / length2, 0), 1)
                    let ex = px - (ax + t * dx), ey = py - (ay + t * dy)
                    if ex * ex + ey * ey <= radius * radius { set(x, y, color) }
                }
            }
        }

        mutating func text(_ string: String, x: Int, y: Int, _ color: Color) {
            var cursor = x
            for character in string {
                if let rows = PendulumRaster.font[character] {
                    for (row, bits) in rows.enumerated() {
                        for (column, bit) in bits.enumerated() where bit == "#" { set(cursor + column, y + row, color) }
                    }
                }
                cursor += 6
            }
        }
    }

    /// One frame: the pendulum at `frame.theta`, its torque and the running numbers.
    static func draw(_ frame: PendulumFrame, step: Int, maxTorque: Double) -> [UInt8] {
        var canvas = Canvas()
        let cx = 120.0, cy = 125.0, rod = 80.0
        canvas.rect(20, Int(cy), 200, 1, .guide)
        canvas.rect(Int(cx), Int(cy) - 100, 1, 200, .guide)
        // θ is counter-clockwise from upright; screen y grows downwards.
        let tipX = cx - rod * sin(frame.theta), tipY = cy - rod * cos(frame.theta)
        canvas.capsule(cx, cy, tipX, tipY, radius: 5, .rod)
        canvas.capsule(tipX, tipY, tipX, tipY, radius: 10, .bob)
        canvas.capsule(cx, cy, cx, cy, radius: 3.5, .pivot)
        let barY = 238, half = 100
        canvas.rect(Int(cx) - half, barY, 2 * half, 10, .track)
        let length = Int((max(-1, min(1, frame.torque / maxTorque)) * Double(half)).rounded())
        canvas.rect(length < 0 ? Int(cx) + length : Int(cx), barY, abs(length), 10, .torque)
        canvas.rect(Int(cx), barY - 3, 1, 16, .pivot)
        canvas.text(String(format: "step %3d  torque %+.2f", step + 1, frame.torque), x: 20, y: 254, .text)
        canvas.text(String(format: "return %.1f", frame.runningReturn), x: 20, y: 266, .text)
        return canvas.pixels
    }

    /// An animated GIF of `frames`, `secondsPerStep` each (GIF delays are in hundredths of a second).
    static func gif(_ frames: [PendulumFrame], secondsPerStep: Double, maxTorque: Double, frame still: Int? = nil) -> [UInt8] {
        var encoder = GIFEncoder(width: width, height: height, palette: palette, loop: still == nil)
        let delay = max(2, Int((secondsPerStep * 100).rounded()))
        if let still {
            let index = min(max(still, 0), frames.count - 1)
            encoder.addFrame(draw(frames[index], step: index, maxTorque: maxTorque), delay: delay)
        } else {
            for (index, frame) in frames.enumerated() { encoder.addFrame(draw(frame, step: index, maxTorque: maxTorque), delay: delay) }
        }
        return encoder.data
    }

    /// 5×7 glyphs of the characters the captions use.
    static let font: [Character: [String]] = [
        "0": [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
        "1": ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "2": [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
        "3": ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
        "4": ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
        "5": ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
        "6": ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
        "7": ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
        "8": [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
        "9": [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
        "+": [".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."],
        "-": [".....", ".....", ".....", "#####", ".....", ".....", "....."],
        ".": [".....", ".....", ".....", ".....", ".....", ".##..", ".##.."],
        "s": [".....", ".....", ".####", "#....", ".###.", "....#", "####."],
        "t": [".#...", ".#...", "####.", ".#...", ".#...", ".#..#", "..##."],
        "e": [".....", ".....", ".###.", "#...#", "#####", "#....", ".###."],
        "p": ["####.", "#...#", "#...#", "####.", "#....", "#....", "#...."],
        "o": [".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."],
        "r": [".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."],
        "q": [".####", "#...#", "#...#", ".####", "....#", "....#", "....#"],
        "u": [".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"],
        "n": [".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"],
    ]
}

extension SwingUpAnimation {
    /// The same episode as an animated GIF (or, with `frame`, a one-frame still).
    public static func gif(_ frames: [PendulumFrame], secondsPerStep: Double, maxTorque: Double, frame still: Int? = nil) -> [UInt8] {
        precondition(!frames.isEmpty)
        return PendulumRaster.gif(frames, secondsPerStep: secondsPerStep, maxTorque: maxTorque, frame: still)
    }
}
