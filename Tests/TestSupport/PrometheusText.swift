/// A parser of the Prometheus text exposition format (version 0.0.4), strict
/// enough that a test fails on anything a Prometheus server would refuse.
public struct PrometheusText {
    public struct Sample: Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public enum ParseError: Error, CustomStringConvertible {
        case malformed(line: Int, text: String, why: String)
        public var description: String {
            switch self {
            case let .malformed(line, text, why): "line \(line): \(why): \(text)"
            }
        }
    }

    public private(set) var samples: [Sample] = []
    public private(set) var types: [String: String] = [:]
    public private(set) var help: [String: String] = [:]

    public init(_ text: String) throws {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let fail = { (why: String) in ParseError.malformed(line: index + 1, text: String(line), why: why) }
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1).map(String.init)
                guard parts.count == 2, Self.isMetricName(parts[0]) else { throw fail("bad comment") }
                if line.hasPrefix("# TYPE ") {
                    guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1]) else { throw fail("unknown type") }
                    guard types[parts[0]] == nil else { throw fail("second TYPE for \(parts[0])") }
                    types[parts[0]] = parts[1]
                } else {
                    help[parts[0]] = parts[1]
                }
                continue
            }
            if line.hasPrefix("#") { continue }
            var rest = Substring(line)
            let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
            guard Self.isMetricName(name) else { throw fail("bad metric name") }
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                guard let close = rest.firstIndex(of: "}") else { throw fail("unclosed labels") }
                for pair in rest[rest.index(after: rest.startIndex)..<close].split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, kv[1].count >= 2, kv[1].hasPrefix("\""), kv[1].hasSuffix("\"") else { throw fail("bad label") }
                    labels[String(kv[0])] = String(kv[1].dropFirst().dropLast())
                }
                rest = rest[rest.index(after: close)...]
            }
            let fields = rest.split(separator: " ")
            guard (1...2).contains(fields.count) else { throw fail("expected a value and an optional timestamp") }
            let valueText = String(fields[0])
            let value: Double? = switch valueText {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(valueText)
            }
            guard let value else { throw fail("bad value") }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
    }

    /// The value of the one sample named `name` with exactly `labels`.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    public func all(_ name: String) -> [Sample] { samples.filter { $0.name == name } }
}
