/// One series of a chart.
public struct Series: Sendable {
    public var name: String
    public var color: String
    public var points: [(Double, Double)]
    /// Half-width of a shaded band around each point (e.g. ± one standard deviation).
    public var band: [Double]?
    public var width: Double
    public var opacity: Double
    public var markers: Bool

    public init(name: String, color: String, points: [(Double, Double)], band: [Double]? = nil, width: Double = 2,
                opacity: Double = 1, markers: Bool = false) {
        self.name = name
        self.color = color
        self.points = points
        self.band = band
        self.width = width
        self.opacity = opacity
        self.markers = markers
    }
}

/// A panel with axes, grid, title, legend, optional horizontal reference line.
struct LineChart {
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var reference: (value: Double, label: String)?
    var yIncludesZero = false

    func draw(on canvas: inout SVGCanvas, x: Double, y: Double, width: Double, height: Double) {
        let left = x + 70, right = x + width - 20, top = y + 40, bottom = y + height - 55
        canvas.text(title, x: (left + right) / 2, y: y + 22, size: 16, anchor: .middle, weight: "bold")
        let xs = series.flatMap { $0.points.map(\.0) }
        var ys = series.flatMap { s in s.points.indices.flatMap { i -> [Double] in
            let (_, v) = s.points[i]
            guard let band = s.band, i < band.count else { return [v] }
            return [v - band[i], v + band[i]]
        } }
        if let reference { ys.append(reference.value) }
        guard !xs.isEmpty else {
            canvas.rect(x: left, y: top, width: right - left, height: bottom - top, fill: "#fafafa", stroke: "#bbb")
            canvas.text("no data", x: (left + right) / 2, y: (top + bottom) / 2, size: 14, anchor: .middle, fill: "#888")
            return
        }
        let xAxis = Axis(values: xs, pixelStart: left, pixelEnd: right, includeZero: true)
        let yAxis = Axis(values: ys, pixelStart: bottom, pixelEnd: top, includeZero: yIncludesZero)
        canvas.rect(x: left, y: top, width: right - left, height: bottom - top, fill: "#fcfcfc", stroke: "#999")
        for tick in xAxis.ticks {
            let px = xAxis.pixel(tick)
            canvas.line(px, top, px, bottom, stroke: "#e4e4e4")
            canvas.text(Axis.label(tick), x: px, y: bottom + 18, size: 12, anchor: .middle, fill: "#444")
        }
        for tick in yAxis.ticks {
            let py = yAxis.pixel(tick)
            canvas.line(left, py, right, py, stroke: "#e4e4e4")
            canvas.text(Axis.label(tick), x: left - 8, y: py + 4, size: 12, anchor: .end, fill: "#444")
        }
        canvas.text(xLabel, x: (left + right) / 2, y: bottom + 40, size: 13, anchor: .middle)
        canvas.text(yLabel, x: x + 18, y: (top + bottom) / 2, size: 13, anchor: .middle, rotate: -90)
        if let reference {
            let py = yAxis.pixel(reference.value)
            canvas.line(left, py, right, py, stroke: "#2a9d2a", width: 1.5, dash: "6 4")
            canvas.text(reference.label, x: left + 8, y: py + 16, size: 12, fill: "#2a7a2a")
        }
        for s in series {
            let pixels = s.points.map { (xAxis.pixel($0.0), yAxis.pixel($0.1)) }
            if let band = s.band, band.count == s.points.count {
                let upper = s.points.indices.map { (xAxis.pixel(s.points[$0].0), yAxis.pixel(s.points[$0].1 + band[$0])) }
                let lower = s.points.indices.reversed().map { (xAxis.pixel(s.points[$0].0), yAxis.pixel(s.points[$0].1 - band[$0])) }
                canvas.polygon(upper + lower, fill: s.color, opacity: 0.15)
            }
            canvas.polyline(pixels, stroke: s.color, width: s.width, opacity: s.opacity)
            if s.markers { for (px, py) in pixels { canvas.circle(px, py, radius: 2.5, fill: s.color) } }
        }
        // Legend in a boxed corner, bottom right: learning curves and rates rise, so that corner is emptiest.
        let named = series.filter { !$0.name.isEmpty }
        guard !named.isEmpty else { return }
        let boxWidth = 44 + 6.8 * Double(named.map(\.name.count).max() ?? 0), boxHeight = 10 + 17 * Double(named.count)
        let boxX = right - boxWidth - 8, boxY = bottom - boxHeight - 8
        canvas.rect(x: boxX, y: boxY, width: boxWidth, height: boxHeight, fill: "white", stroke: "#ccc")
        for (index, s) in named.enumerated() {
            let rowY = boxY + 18 + 17 * Double(index)
            canvas.rect(x: boxX + 8, y: rowY - 8, width: 18, height: 4, fill: s.color)
            canvas.text(s.name, x: boxX + 32, y: rowY - 2, size: 12)
        }
    }
}
