import Foundation

/// One step of a MountainCarContinuous-v0 episode to draw: the car's position, the force applied, the return so far.
public struct MountainCarFrame: Sendable {
    public var position: Double
    public var force: Double
    public var runningReturn: Double

    public init(position: Double, force: Double, runningReturn: Double) {
        self.position = position
        self.force = force
        self.runningReturn = runningReturn
    }
}

/// One step of a CartPole-v1 episode to draw: the cart's position, the pole's angle from upright (radians, positive
/// leaning right, as gymnasium's θ), the push (0 left, 1 right), the return so far.
public struct CartPoleFrame: Sendable {
    public var x: Double
    public var theta: Double
    public var push: Int
    public var runningReturn: Double

    public init(x: Double, theta: Double, push: Int, runningReturn: Double) {
        self.x = x
        self.theta = theta
        self.push = push
        self.runningReturn = runningReturn
    }
}

/// The classic-control environments ddpg simulates natively, drawn as gymnasium draws them (the hill y = 0.45 sin 3x + 0.55
/// with the flag at 0.45; the cart on its ±2.4 track with a pole of half-length 0.5), with the step, the action and the return
/// as captions, into animated GIFs for `ddpg render`.
public enum ClassicControlAnimation {
    enum Color: UInt8 { case white, ground, car, wheel, flag, pole, axle, text, track, force }

    static let palette: [(UInt8, UInt8, UInt8)] = [
        (255, 255, 255), (120, 120, 120), (51, 51, 51), (110, 110, 110), (230, 180, 0), (202, 152, 101), (129, 132, 203), (34, 34, 34),
        (221, 221, 221), (46, 134, 193),
    ]

    static let width = 300, height = 240

    /// MountainCarContinuous-v0, `secondsPerStep` a frame (gymnasium plays it at 30 frames a second).
    public static func mountainCarGIF(_ frames: [MountainCarFrame], secondsPerStep: Double = 1.0 / 30) -> [UInt8] {
        precondition(!frames.isEmpty)
        var encoder = GIFEncoder(width: width, height: height, palette: palette)
        let delay = max(2, Int((secondsPerStep * 100).rounded()))
        let minX = -1.2, maxX = 0.6, scale = Double(width - 20) / (maxX - minX)
        func hill(_ x: Double) -> Double { 0.45 * sin(3 * x) + 0.55 }
        func screen(_ x: Double, _ y: Double) -> (Double, Double) { (10 + (x - minX) * scale, 190 - y * scale) }
        var background = RasterCanvas<Color>(width: width, height: height, background: .white)
        var previous = screen(minX, hill(minX))
        for i in 1...120 {
            let x = minX + (maxX - minX) * Double(i) / 120, point = screen(x, hill(x))
            background.capsule(previous.0, previous.1, point.0, point.1, radius: 1, .ground)
            previous = point
        }
        let flag = screen(0.45, hill(0.45))
        background.rect(Int(flag.0), Int(flag.1) - 28, 1, 28, .ground)
        background.rect(Int(flag.0) + 1, Int(flag.1) - 28, 12, 7, .flag)
        for (index, frame) in frames.enumerated() {
            var canvas = background
            let slope = atan(1.35 * cos(3 * frame.position))  // dy/dx of the hill, 0.45·3
            let base = screen(frame.position, hill(frame.position))
            // The car sits on the hill, tilted with it: a body 16 px above the track, two wheels.
            let (c, s) = (cos(slope), sin(slope))
            func along(_ u: Double, _ v: Double) -> (Double, Double) { (base.0 + u * c + v * s, base.1 - u * s + v * c) }
            let back = along(-11, -9), front = along(11, -9)
            canvas.capsule(back.0, back.1, front.0, front.1, radius: 6, .car)
            for u in [-8.0, 8.0] {
                let wheel = along(u, -3)
                canvas.capsule(wheel.0, wheel.1, wheel.0, wheel.1, radius: 3.5, .wheel)
            }
            let bar = 120, centre = width / 2, length = Int((max(-1, min(1, frame.force)) * Double(bar / 2)).rounded())
            canvas.rect(centre - bar / 2, 204, bar, 6, .track)
            canvas.rect(length < 0 ? centre + length : centre, 204, abs(length), 6, .force)
            canvas.text(String(format: "step %3d  force %+.2f", index + 1, frame.force), x: 10, y: 216, .text)
            canvas.text(String(format: "return %.1f", frame.runningReturn), x: 10, y: 227, .text)
            encoder.addFrame(canvas.pixels, delay: delay)
        }
        return encoder.data
    }

    /// CartPole-v1, `secondsPerStep` a frame (its τ, 0.02 s; gymnasium plays it at 50 frames a second).
    public static func cartPoleGIF(_ frames: [CartPoleFrame], secondsPerStep: Double = 0.02) -> [UInt8] {
        precondition(!frames.isEmpty)
        var encoder = GIFEncoder(width: width, height: height, palette: palette)
        let delay = max(2, Int((secondsPerStep * 100).rounded()))
        let worldWidth = 4.8, scale = Double(width) / worldWidth, trackY = 150.0, poleLength = 2 * 0.5 * scale
        var background = RasterCanvas<Color>(width: width, height: height, background: .white)
        background.rect(0, Int(trackY), width, 1, .ground)
        for (index, frame) in frames.enumerated() {
            var canvas = background
            let cx = frame.x * scale + Double(width) / 2
            canvas.rect(Int(cx) - 25, Int(trackY) - 15, 50, 30, .car)
            let tipX = cx + poleLength * sin(frame.theta), tipY = trackY - 8 - poleLength * cos(frame.theta)
            canvas.capsule(cx, trackY - 8, tipX, tipY, radius: 4, .pole)
            canvas.capsule(cx, trackY - 8, cx, trackY - 8, radius: 4, .axle)
            let arrow = frame.push == 1 ? 1 : -1
            canvas.rect(arrow > 0 ? Int(cx) + 26 : Int(cx) - 46, Int(trackY) - 2, 20, 4, .force)
            canvas.text(String(format: "step %3d  push ", index + 1) + (frame.push == 1 ? "right" : "left"), x: 10, y: 205, .text)
            canvas.text(String(format: "return %.1f", frame.runningReturn), x: 10, y: 216, .text)
            encoder.addFrame(canvas.pixels, delay: delay)
        }
        return encoder.data
    }
}
