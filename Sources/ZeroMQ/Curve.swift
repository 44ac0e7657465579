import CZeroMQ

/// A CURVE keypair in Z85 text (40 characters each), as libzmq takes it.
public struct CurveKeyPair: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    public init(publicKey: String, secretKey: String) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }
}

/// ZeroMQ's CURVE security (CurveZMQ: Curve25519 key exchange, then every frame
/// encrypted and authenticated), available when libzmq is built with libsodium.
public enum Curve {
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    public static func generateKeyPair() throws -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError(operation: "zmq_curve_keypair") }
        return CurveKeyPair(publicKey: string(publicKey), secretKey: string(secretKey))
    }

    /// The public key of a Z85 secret key, or nil if it is not a valid key.
    public static func publicKey(secretKey: String) -> String? {
        guard isValidKey(secretKey) else { return nil }
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secretKey) == 0 else { return nil }
        return string(publicKey)
    }

    /// Whether `key` is 40 characters of Z85 that decode to 32 bytes.
    public static func isValidKey(_ key: String) -> Bool {
        guard key.utf8.count == 40 else { return false }
        var decoded = [UInt8](repeating: 0, count: 32)
        return zmq_z85_decode(&decoded, key) != nil
    }

    /// Z85 text of 32 raw key bytes (as a ZAP request carries a client's key).
    public static func z85(_ raw: [UInt8]) -> String? {
        guard raw.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, raw, raw.count) != nil else { return nil }
        return string(text)
    }

    private static func string(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension ZMQSocket {
    /// Makes this (binding) socket a CURVE server with `secretKey`. Every peer must
    /// then handshake with CURVE and this server's public key; a ``ConnectionGate``
    /// guarding the socket decides which client keys are let in. Set before `bind`.
    public func makeCurveServer(secretKey: String) throws {
        try setOption(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }

    /// Makes this (connecting) socket a CURVE client of the server with public key `serverKey`. Set before `connect`.
    public func makeCurveClient(keys: CurveKeyPair, serverKey: String) throws {
        try setOption(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8), "ZMQ_CURVE_SERVERKEY")
        try setOption(ZMQ_CURVE_PUBLICKEY, bytes: Array(keys.publicKey.utf8), "ZMQ_CURVE_PUBLICKEY")
        try setOption(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
    }
}
