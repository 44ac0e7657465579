import Foundation

/// A configuration that has a value for every setting when made with no arguments.
///
/// Records outlive the code that wrote them: a checkpoint or summary written before a setting
/// existed lacks its key. Such types keep Swift's synthesized `Codable`; the records that hold them
/// are read with ``Foundation/JSONDecoder/decodeFillingDefaults(_:from:)``, which takes every
/// missing setting from `init()`. Nothing lists the keys a second time.
public protocol DefaultedConfiguration: Codable {
    init()
    /// Called after reading a record, with the record itself and the keys (as properties are named)
    /// it held: for a setting whose absence means something besides its default, or one that older
    /// records kept under another key.
    mutating func didDecode(from record: Decoder, presentKeys: Set<String>) throws
}

extension DefaultedConfiguration {
    public mutating func didDecode(from record: Decoder, presentKeys: Set<String>) throws {}

    /// `init()` as JSON objects keyed by property name.
    static func defaultTree() throws -> [String: Any] {
        let data = try JSONEncoder().encode(Self())
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// Reads `value` (a JSON object, as `JSONSerialization` gives) over these defaults: the values
    /// it names replace the defaults, the rest stay. The keys are property names.
    public static func overriding(_ values: [String: Any]) throws -> Self {
        var tree = try defaultTree()
        for (key, value) in values where tree[key] != nil { tree[key] = value }
        return try JSONDecoder().decode(Self.self, from: JSONSerialization.data(withJSONObject: tree))
    }
}

extension JSONDecoder {
    /// Decodes `type` from `data` with this decoder's strategies; wherever a ``DefaultedConfiguration``
    /// lies in it, a setting the data lacks takes the configuration's default value.
    public func decodeFillingDefaults<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try decode(FillingBox<T>.self, from: data).value
    }
}

extension Decoder {
    /// Decodes `type` from this decoder as ``Foundation/JSONDecoder/decodeFillingDefaults(_:from:)`` does.
    public func decodeFillingDefaults<T: Decodable>(_ type: T.Type) throws -> T {
        try Filling.decode(T.self, from: self, defaults: nil)
    }
}

private struct FillingBox<T: Decodable>: Decodable {
    let value: T
    init(from decoder: Decoder) throws { value = try Filling.decode(T.self, from: decoder, defaults: nil) }
}

enum Filling {
    /// `T` from `decoder`, with `defaults` (a JSON value of the same place in `init()`'s tree)
    /// filling what the decoder lacks; a configuration brings its own defaults.
    static func decode<T: Decodable>(_ type: T.Type, from decoder: Decoder, defaults: Any?) throws -> T {
        guard let configuration = T.self as? any DefaultedConfiguration.Type else {
            return try T(from: FillingDecoder(base: decoder, defaults: defaults as? [String: Any]))
        }
        let tree = try configuration.defaultTree()
        let value = try T(from: FillingDecoder(base: decoder, defaults: tree))
        guard let decoded = value as? any DefaultedConfiguration else { return value }
        let present = Set((try? decoder.container(keyedBy: AnyKey.self))?.allKeys.map(\.stringValue) ?? [])
        return try noticing(decoded, decoder, present) as! T
    }

    private static func noticing<C: DefaultedConfiguration>(_ value: C, _ record: Decoder, _ keys: Set<String>) throws -> C {
        var value = value
        try value.didDecode(from: record, presentKeys: keys)
        return value
    }

    /// `T` from a default value (encoded by a plain `JSONEncoder`: keys are property names).
    static func decodeDefault<T: Decodable>(_ type: T.Type, from value: Any) throws -> T {
        try JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: value, options: .fragmentsAllowed))
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

/// A decoder that reads through `base` and takes whatever `base` lacks from `defaults`.
private struct FillingDecoder: Decoder {
    let base: Decoder
    let defaults: [String: Any]?

    var codingPath: [CodingKey] { base.codingPath }
    var userInfo: [CodingUserInfoKey: Any] { base.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(FillingKeyedContainer(base: try base.container(keyedBy: type), defaults: defaults))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer { try base.unkeyedContainer() }
    func singleValueContainer() throws -> SingleValueDecodingContainer { try base.singleValueContainer() }
}

private struct FillingKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let base: KeyedDecodingContainer<Key>
    let defaults: [String: Any]?

    var codingPath: [CodingKey] { base.codingPath }
    var allKeys: [Key] {
        let given = base.allKeys
        let names = Set(given.map(\.stringValue))
        return given + (defaults?.keys.filter { !names.contains($0) }.compactMap { Key(stringValue: $0) } ?? [])
    }

    func contains(_ key: Key) -> Bool { base.contains(key) || defaults?[key.stringValue] != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        if base.contains(key) { return try base.decodeNil(forKey: key) }
        let fallback = defaults?[key.stringValue]
        return fallback == nil || fallback is NSNull
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        // JSONDecoder reads a string-keyed dictionary's keys as they are written, past any key
        // strategy, only on its own path; no configuration lies inside one.
        if T.self is any StringKeyedDictionary.Type, base.contains(key) { return try base.decode(T.self, forKey: key) }
        if base.contains(key) {
            return try Filling.decode(T.self, from: try base.superDecoder(forKey: key), defaults: defaults?[key.stringValue])
        }
        if let fallback = defaults?[key.stringValue] { return try Filling.decodeDefault(T.self, from: fallback) }
        return try base.decode(T.self, forKey: key)  // throws keyNotFound, naming the key
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decode(T.self, forKey: key)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(Wrapped<Bool>.self, forKey: key).value }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(Wrapped<String>.self, forKey: key).value }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(Wrapped<Double>.self, forKey: key).value }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(Wrapped<Float>.self, forKey: key).value }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(Wrapped<Int>.self, forKey: key).value }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(Wrapped<Int8>.self, forKey: key).value }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(Wrapped<Int16>.self, forKey: key).value }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(Wrapped<Int32>.self, forKey: key).value }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(Wrapped<Int64>.self, forKey: key).value }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(Wrapped<UInt>.self, forKey: key).value }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(Wrapped<UInt8>.self, forKey: key).value }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(Wrapped<UInt16>.self, forKey: key).value }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(Wrapped<UInt32>.self, forKey: key).value }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(Wrapped<UInt64>.self, forKey: key).value }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(FillingKeyedContainer<NestedKey>(base: try base.nestedContainer(keyedBy: type, forKey: key),
                                                                defaults: defaults?[key.stringValue] as? [String: Any]))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { try base.nestedUnkeyedContainer(forKey: key) }
    func superDecoder() throws -> Decoder { FillingDecoder(base: try base.superDecoder(), defaults: nil) }

    func superDecoder(forKey key: Key) throws -> Decoder {
        FillingDecoder(base: try base.superDecoder(forKey: key), defaults: defaults?[key.stringValue] as? [String: Any])
    }
}

private protocol StringKeyedDictionary {}
extension Dictionary: StringKeyedDictionary where Key == String {}

/// A primitive read through the generic path, which knows where its default lies.
private struct Wrapped<Value: Decodable>: Decodable {
    let value: Value
    init(from decoder: Decoder) throws { value = try decoder.singleValueContainer().decode(Value.self) }
}

/// A `JSONDecoder` whose every `decode` fills in the settings a record lacks, as
/// ``Foundation/JSONDecoder/decodeFillingDefaults(_:from:)`` does.
public final class FillingJSONDecoder: JSONDecoder, @unchecked Sendable {
    public override func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try super.decode(FillingBox<T>.self, from: data).value
    }
}
