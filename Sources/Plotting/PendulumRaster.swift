import Foundation

/// Frames of the pendulum drawn into palette pixels, for `ddpg render --out *.gif`:
/// the rod and bob, the torque bar, and the step, torque and return in a 5×7 font.
enum PendulumRaster {
    static let palette: [(UInt8, UInt8, UInt8)] = [
        (255, 255, 255), (221, 221, 221), (192, 57, 43), (142, 42, 31), (51, 51, 51), (46, 134, 193), (34, 34, 34), (242, 242, 242),
    ]
    enum Color: UInt8 { case white, guide, rod, bob, pivot, torque, text, track }

    static let width = 240, height = 280

    /// One frame: the pendulum at `frame.theta`, its torque and the running numbers.
    static func draw(_ frame: PendulumFrame, step: Int, maxTorque: Double) -> [UInt8] {
        var canvas = RasterCanvas<Color>(width: width, height: height, background: .white)
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

}

extension SwingUpAnimation {
    /// The same episode as an animated GIF (or, with `frame`, a one-frame still).
    public static func gif(_ frames: [PendulumFrame], secondsPerStep: Double, maxTorque: Double, frame still: Int? = nil) -> [UInt8] {
        precondition(!frames.isEmpty)
        return PendulumRaster.gif(frames, secondsPerStep: secondsPerStep, maxTorque: maxTorque, frame: still)
    }
}
