#if canImport(Glibc)
import Glibc
#endif

/// Whether something accepts TCP connections, for waiting until a server listens.
public enum TCPProbe {
    /// Tries one TCP connection to an IPv4 `host:port` and closes it at once.
    public static func canConnect(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

extension TCPProbe {
    /// Whether a listener could bind `host:port` now, tried the way libzmq binds (SO_REUSEADDR, so a
    /// closed connection's TIME_WAIT does not count as taken). `host` is an IPv4 or IPv6 literal, "*"
    /// or "localhost"; for anything else (an interface name) nil: not known.
    public static func canBind(host: String, port: Int) -> Bool? {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let literal = bare == "*" ? "0.0.0.0" : bare == "localhost" ? "127.0.0.1" : bare
        var v4 = sockaddr_in(), v6 = sockaddr_in6()
        if inet_pton(AF_INET, literal, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = UInt16(port).bigEndian
            return bind(family: AF_INET, &v4)
        }
        if inet_pton(AF_INET6, literal, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = UInt16(port).bigEndian
            return bind(family: AF_INET6, &v6)
        }
        return nil
    }

    private static func bind<Address>(family: Int32, _ address: inout Address) -> Bool {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        } == 0 && listen(fd, 1) == 0
    }
}
