import Foundation

/// One step of an episode to animate: the angle from upright (radians,
/// counter-clockwise), the torque applied, and the return so far.
public struct PendulumFrame: Sendable {
    public var theta: Double
    public var torque: Double
    public var runningReturn: Double

    public init(theta: Double, torque: Double, runningReturn: Double) {
        self.theta = theta
        self.torque = torque
        self.runningReturn = runningReturn
    }
}

/// An animated SVG (SMIL) of a pendulum episode, playing in real time in any
/// browser: the rod and bob, the torque as a bar and an arc, the running return.
/// With `frame`, a still of that one step instead.
public enum SwingUpAnimation {
    public static func svg(_ frames: [PendulumFrame], secondsPerStep: Double, maxTorque: Double, title: String, frame still: Int? = nil) -> String {
        precondition(!frames.isEmpty)
        let width = 480.0, height = 520.0, cx = 240.0, cy = 250.0, rod = 150.0
        let duration = secondsPerStep * Double(frames.count)
        var canvas = SVGCanvas(width: width, height: height)
        canvas.text(title, x: cx, y: 30, size: 16, anchor: .middle, weight: "bold")
        canvas.line(cx - 180, cy, cx + 180, cy, stroke: "#ddd", width: 1, dash: "4 4")
        canvas.line(cx, cy - 180, cx, cy + 180, stroke: "#ddd", width: 1, dash: "4 4")
        canvas.text("upright", x: cx, y: cy - rod - 30, size: 11, anchor: .middle, fill: "#999")
        func degrees(_ f: PendulumFrame) -> Double { -f.theta * 180 / .pi }  // SVG rotates clockwise; θ is counter-clockwise
        let shown = still.map { [frames[min(max($0, 0), frames.count - 1)]] } ?? frames
        let rotation = still == nil
            ? "<animateTransform attributeName=\"transform\" type=\"rotate\" calcMode=\"discrete\" dur=\"\(duration)s\" fill=\"freeze\" values=\"\(frames.map { String(format: "%.2f %.0f %.0f", degrees($0), cx, cy) }.joined(separator: ";"))\"/>"
            : ""
        let angle = String(format: "%.2f", degrees(shown[0]))
        canvas.raw("""
            <g transform="rotate(\(angle) \(cx) \(cy))">\(rotation)
            <line x1="\(cx)" y1="\(cy)" x2="\(cx)" y2="\(cy - rod)" stroke="#c0392b" stroke-width="14" stroke-linecap="round"/>
            <circle cx="\(cx)" cy="\(cy - rod)" r="16" fill="#8e2a1f"/>
            </g>
            <circle cx="\(cx)" cy="\(cy)" r="6" fill="#333"/>
            """)
        // Torque: a bar under the pendulum, growing left or right from the middle.
        let barY = height - 90, barHalf = 180.0
        canvas.rect(x: cx - barHalf, y: barY, width: 2 * barHalf, height: 16, fill: "#f2f2f2", stroke: "#bbb")
        canvas.line(cx, barY - 4, cx, barY + 20, stroke: "#666")
        func bar(_ f: PendulumFrame) -> (x: Double, width: Double) {
            let length = max(-1, min(1, f.torque / maxTorque)) * barHalf
            return (length < 0 ? cx + length : cx, abs(length))
        }
        let first = bar(shown[0])
        let barAnimation = still == nil ? """
            <animate attributeName="x" calcMode="discrete" dur="\(duration)s" fill="freeze" values="\(frames.map { String(format: "%.1f", bar($0).x) }.joined(separator: ";"))"/>\
            <animate attributeName="width" calcMode="discrete" dur="\(duration)s" fill="freeze" values="\(frames.map { String(format: "%.1f", bar($0).width) }.joined(separator: ";"))"/>
            """ : ""
        canvas.raw("<rect x=\"\(String(format: "%.1f", first.x))\" y=\"\(barY)\" width=\"\(String(format: "%.1f", first.width))\" height=\"16\" fill=\"#2e86c1\">\(barAnimation)</rect>")
        canvas.text("torque", x: cx - barHalf, y: barY - 8, size: 12, fill: "#555")
        canvas.text(String(format: "−%.0f", maxTorque), x: cx - barHalf, y: barY + 34, size: 11, anchor: .middle, fill: "#777")
        canvas.text(String(format: "+%.0f", maxTorque), x: cx + barHalf, y: barY + 34, size: 11, anchor: .middle, fill: "#777")
        // Step, torque and running return: one text per step, each shown only during its step.
        for (index, frame) in shown.enumerated() {
            let step = still ?? index
            let label = String(format: "step %3d   torque %+.2f   return %.1f", step + 1, frame.torque, frame.runningReturn)
            let timing = still == nil
                ? " visibility=\"hidden\"><set attributeName=\"visibility\" to=\"visible\" begin=\"\(String(format: "%.3f", Double(index) * secondsPerStep))s\" \(index == frames.count - 1 ? "fill=\"freeze\"" : "dur=\"\(secondsPerStep)s\"")/>"
                : ">"
            canvas.raw("<text x=\"\(cx)\" y=\"\(height - 22)\" font-size=\"14\" text-anchor=\"middle\" fill=\"#222\" font-family=\"DejaVu Sans Mono, monospace\"\(timing)\(SVGCanvas.escape(label))</text>")
        }
        return canvas.document
    }
}
