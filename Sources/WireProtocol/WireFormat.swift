/// Constants of the ddpg wire protocol, specified in `docs/PROTOCOL.md`.
public enum WireFormat {
    /// "DDPG" in ASCII: the first four bytes of every message.
    public static let magic: [UInt8] = [0x44, 0x44, 0x50, 0x47]
    public static let version: UInt16 = 1
    public static let headerSize = 12

    /// Limits that keep a hostile message from asking for huge allocations.
    public static let maxTransitionsPerMessage = 65_536
    public static let maxEnvironmentIdLength = 64
    public static let maxLayers = 16
    public static let maxLayerWidth = 4_096
    public static let maxDimension = 1_024
}

/// The message kinds. Workers send the first four to the learner; the learner publishes the last two.
public enum MessageKind: UInt8, CaseIterable, Sendable {
    case hello = 1
    case transitions = 2
    case episode = 3
    case workerStatus = 4
    case weights = 16
    case shutdown = 17
}
