import Policy
import Randomness
import Settings
import Specs

/// An algorithm, in one file: its name, its own hyperparameters and how to make its agent.
/// ``Algorithms/all`` lists it; the command line, configurations, records and checkpoints find it there.
public protocol AgentAlgorithm: Sendable {
    /// Its own hyperparameters beyond ``AgentConfiguration``'s shared ones (``NoSettings`` when none).
    associatedtype Settings: AlgorithmSettings

    /// What `--algorithm` and records call it.
    static var id: AlgorithmID { get }
    /// One line for `--help`.
    static var summary: String { get }

    /// Why this algorithm cannot act in `spec`'s action space, naming what can; nil when it can.
    static func refusal(of spec: EnvironmentSpec) -> String?
    /// Whether it learns from its current policy's fresh experience only (A2C, A3C) instead of replay.
    static var isOnPolicy: Bool { get }
}

/// An algorithm that learns from replay (DDPG, TD3, SAC): its agent is an ``Agent``, which a learner
/// feeds minibatches of stored transitions from any policy's acting.
public protocol OffPolicyAlgorithm: AgentAlgorithm {
    /// The agent, with its settings from `configuration.settings(of: Self.self)`.
    static func makeAgent<G: RandomNumberGenerator>(observationSize: Int, actionLow: [Float], actionHigh: [Float],
                                                    configuration: AgentConfiguration, using generator: inout G) -> any Agent
}

extension OffPolicyAlgorithm {
    public static var isOnPolicy: Bool { false }

    /// Its actor's outputs are real vectors squashed into a Box.
    public static func refusal(of spec: EnvironmentSpec) -> String? {
        guard spec.isDiscrete else { return nil }
        let onPolicy = Algorithms.all.filter { $0.isOnPolicy }.map { $0.id.rawValue }.joined(separator: " or ")
        return "\(id) acts in Box action spaces only, and \(spec.id)'s is \(spec.actionSpaceName): use --algorithm \(onPolicy)"
    }
}

/// An algorithm that learns from its current policy's fresh experience (A2C, A3C): its agent is an
/// ``OnPolicyAgent``. It acts in Discrete and Box spaces alike.
public protocol OnPolicyAlgorithm: AgentAlgorithm where Settings == OnPolicySettings {
    /// Whether workers compute gradients that the learner applies as they arrive (A3C), instead of the
    /// learner updating once on every worker's segments (A2C).
    static var isAsynchronous: Bool { get }
    static func makeAgent<G: RandomNumberGenerator>(spec: EnvironmentSpec, configuration: AgentConfiguration,
                                                    using generator: inout G) -> any OnPolicyAgent
}

extension OnPolicyAlgorithm {
    public static var isOnPolicy: Bool { true }

    public static func refusal(of spec: EnvironmentSpec) -> String? { nil }
}

extension AgentAlgorithm {
    static var defaultSettings: any AlgorithmSettings { Settings() }

    /// Checks `settings` as this algorithm's (another algorithm's settings count as the defaults).
    public static func validate(_ settings: any AlgorithmSettings) throws(ConfigurationError) {
        try (settings as? Settings ?? Settings()).validate()
    }

    /// The settings with the values in `values` (by property name) in place of their defaults.
    public static func settings(overriding values: [String: Any]) throws -> any AlgorithmSettings {
        try Settings.overriding(values)
    }

    static func decodeSettings(from decoder: Decoder) throws -> any AlgorithmSettings {
        try decoder.decodeFillingDefaults(Settings.self)
    }
}

/// An algorithm's own hyperparameters: every one has a default, and `validate` names the one out of range.
public protocol AlgorithmSettings: DefaultedConfiguration, Sendable, Equatable {
    func validate() throws(ConfigurationError)
}

/// The settings of an algorithm that has none of its own.
public struct NoSettings: AlgorithmSettings {
    public init() {}
    public func validate() throws(ConfigurationError) {}
}

/// An algorithm's name, as `--algorithm` takes it; each algorithm's file adds its own constant.
public struct AlgorithmID: RawRepresentable, Hashable, Codable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public var description: String { rawValue }

    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Every algorithm an agent can train with. Adding one is its file and a line here.
public enum Algorithms {
    public static let all: [any AgentAlgorithm.Type] = [
        DDPG.self,
        TD3.self,
        SAC.self,
        CrossQ.self,
        A2C.self,
        A3C.self,
    ]

    public static func named(_ id: AlgorithmID) -> (any AgentAlgorithm.Type)? { all.first { $0.id == id } }

    /// Every registered algorithm's name.
    public static var ids: [AlgorithmID] { all.map { $0.id } }

    /// The names of those that learn from replay (their agents are ``Agent``s).
    public static var offPolicyIDs: [AlgorithmID] { all.filter { !$0.isOnPolicy }.map { $0.id } }

    /// The names, for messages and help: "ddpg, td3, sac, crossq, a2c, a3c".
    public static var names: String { all.map { $0.id.rawValue }.joined(separator: ", ") }
}

/// The algorithms' own settings in a configuration, by algorithm: written as `{"td3": {"policy_delay": 2, …}}`.
public struct AlgorithmSettingsSet: Codable, Sendable, Equatable {
    private var byAlgorithm: [AlgorithmID: any AlgorithmSettings] = [:]

    public init() {}

    /// `settings`, as the settings of `algorithm`.
    public init<A: AgentAlgorithm>(_ settings: A.Settings, of algorithm: A.Type) {
        byAlgorithm[A.id] = settings
    }

    public subscript(algorithm: AlgorithmID) -> (any AlgorithmSettings)? {
        get { byAlgorithm[algorithm] }
        set { byAlgorithm[algorithm] = newValue }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: AlgorithmKey.self)
        for key in container.allKeys {
            guard let algorithm = Algorithms.named(AlgorithmID(rawValue: key.stringValue)) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown algorithm '\(key.stringValue)'")
            }
            byAlgorithm[algorithm.id] = try algorithm.decodeSettings(from: try container.superDecoder(forKey: key))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: AlgorithmKey.self)
        for (id, settings) in byAlgorithm.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            try container.encode(settings, forKey: AlgorithmKey(stringValue: id.rawValue))
        }
    }

    public static func == (a: Self, b: Self) -> Bool {
        guard a.byAlgorithm.count == b.byAlgorithm.count else { return false }
        return a.byAlgorithm.allSatisfy { id, settings in b.byAlgorithm[id].map { settings.isEqual(to: $0) } ?? false }
    }

    private struct AlgorithmKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

extension AlgorithmSettings {
    func isEqual(to other: any AlgorithmSettings) -> Bool { (other as? Self) == self }
}
