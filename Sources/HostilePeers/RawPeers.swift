import Foundation

/// Plain TCP, for peers that do not go through libzmq: raw ZMTP frames and slow HTTP.
enum RawTCP {
    /// A blocking TCP connection to 127.0.0.1:`port`, or nil.
    static func connect(port: Int, timeoutMilliseconds: Int = 2_000) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: timeoutMilliseconds / 1_000, tv_usec: (timeoutMilliseconds % 1_000) * 1_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Writes all of `bytes`; false once the peer has closed or reset the connection.
    static func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Reads exactly `count` bytes, or nil on close, error or timeout.
    static func read(_ fd: Int32, count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, count - offset, 0) }
            if received <= 0 { return nil }
            offset += received
        }
        return buffer
    }

    /// Whether the peer has closed the connection (a read returns end of file or an error right away).
    static func isClosedByPeer(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let received = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        return received == 0 || (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}

/// A DEALER peer from the ZMTP 3.0 specification (RFC 23), NULL mechanism: what the learner's ROUTER accepts.
enum RawDealer {
    /// Handshakes on `fd`, then sends one frame announcing `size` bytes and streams them until the
    /// learner closes the connection. Returns the bytes the socket took, or nil if the handshake failed.
    static func sendFrame(_ fd: Int32, size: UInt64) -> Int? {
        guard RawZMTP.handshake(fd, socketType: "DEALER") else { return nil }
        guard RawTCP.write(fd, [0x02] + withUnsafeBytes(of: size.bigEndian, Array.init)) else { return 0 }
        var delivered = 0
        let chunk = [UInt8](repeating: 0x44, count: 64 << 10)
        while UInt64(delivered) < size, RawTCP.write(fd, chunk) { delivered += chunk.count }
        return delivered
    }
}

/// The ZMTP 3.0 greeting and READY exchange with the NULL mechanism.
enum RawZMTP {
    static func handshake(_ fd: Int32, socketType: String) -> Bool {
        var greeting: [UInt8] = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0]
        greeting += Array("NULL".utf8) + [UInt8](repeating: 0, count: 16)
        greeting += [0] + [UInt8](repeating: 0, count: 31)
        guard RawTCP.write(fd, greeting), RawTCP.read(fd, count: 64) != nil else { return false }
        let type = Array(socketType.utf8)
        let ready: [UInt8] = [5] + Array("READY".utf8) + [11] + Array("Socket-Type".utf8) + [0, 0, 0, UInt8(type.count)] + type
        guard RawTCP.write(fd, [0x04, UInt8(ready.count)] + ready), let header = RawTCP.read(fd, count: 2),
              RawTCP.read(fd, count: Int(header[1])) != nil else { return false }
        return true
    }
}

/// A SUB peer written from the ZMTP 3.0 specification (RFC 23), with the NULL mechanism,
/// so that it can send frames libzmq's own SUB never would.
enum RawSubscriber {
    /// Greeting, READY and the learner's replies. Returns the connected socket, or nil if refused.
    static func handshake(port: Int) -> Int32? {
        guard let fd = RawTCP.connect(port: port) else { return nil }
        guard RawZMTP.handshake(fd, socketType: "SUB") else {
            close(fd)
            return nil
        }
        return fd
    }

    /// One short message frame: a subscription (1) to `prefix`.
    static func subscription(_ prefix: [UInt8]) -> [UInt8] {
        [0x00, UInt8(prefix.count + 1), 1] + prefix
    }

    /// One long frame header announcing a subscription of `size` bytes.
    static func longSubscriptionHeader(size: UInt64) -> [UInt8] {
        [0x02] + withUnsafeBytes(of: size.bigEndian, Array.init) + [1]
    }
}
