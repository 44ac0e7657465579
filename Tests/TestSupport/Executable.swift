import Foundation

/// Locating and feeding the real `ddpg` binary from tests that run it as a process.
public enum DDPGExecutable {
    /// The `ddpg` binary in the build folder of the running test bundle.
    public static let url: URL = {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            bundleDirectory.appendingPathComponent("ddpg"),
            bundleDirectory.deletingLastPathComponent().appendingPathComponent("ddpg"),
            packageRoot.appendingPathComponent(".build/release/ddpg"),
            packageRoot.appendingPathComponent(".build/debug/ddpg"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }()

    /// A fresh path under the temporary directory (not created).
    public static func temporaryDirectory(_ prefix: String = "ddpg-test") -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    }

    /// Distinct loopback TCP ports that were free a moment ago.
    public static func freePorts(_ count: Int) -> [Int] {
        func one() -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            return Int(UInt16(bigEndian: address.sin_port))
        }
        var ports: [Int] = []
        while ports.count < count {
            let port = one()
            if !ports.contains(port) { ports.append(port) }
        }
        return ports
    }

    /// A TCP socket listening on 127.0.0.1:`port` that never accepts: connections
    /// open (the kernel completes them) but nothing ever answers. Close it when done.
    public static func silentListener(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 8) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Two distinct loopback TCP ports that were free a moment ago.
    public static func freePorts() -> (Int, Int) {
        let ports = freePorts(2)
        return (ports[0], ports[1])
    }
}
