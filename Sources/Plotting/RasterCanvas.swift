import Foundation

/// A palette image drawn pixel by pixel, for the GIFs `ddpg render` writes: rectangles, round-capped lines, and
/// captions in a 5×7 font. `Color` is the drawing's palette, its raw values the indices.
struct RasterCanvas<Color: RawRepresentable> where Color.RawValue == UInt8 {
    let width: Int
    let height: Int
    var pixels: [UInt8]

    init(width: Int, height: Int, background: Color) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: background.rawValue, count: width * height)
    }

    mutating func set(_ x: Int, _ y: Int, _ color: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        pixels[y * width + x] = color.rawValue
    }

    mutating func rect(_ x0: Int, _ y0: Int, _ w: Int, _ h: Int, _ color: Color) {
        guard w > 0, h > 0 else { return }
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
            if let rows = RasterFont.glyphs[character] {
                for (row, bits) in rows.enumerated() {
                    for (column, bit) in bits.enumerated() where bit == "#" { set(cursor + column, y + row, color) }
                }
            }
            cursor += 6
        }
    }
}

/// 5×7 glyphs of the characters the captions use.
enum RasterFont {
    static let glyphs: [Character: [String]] = [
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
        "f": ["..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..."],
        "c": [".....", ".....", ".###.", "#....", "#....", "#...#", ".###."],
        "l": [".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."],
        "i": ["..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."],
        "g": [".....", ".####", "#...#", "#...#", ".####", "....#", ".###."],
        "h": ["#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"],
        "a": [".....", ".....", ".###.", "....#", ".####", "#...#", ".####"],
    ]
}
