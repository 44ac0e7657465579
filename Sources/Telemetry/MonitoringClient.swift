import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Reads a learner's monitoring endpoint over HTTP: what `ddpg top` and the tests use.
public struct MonitoringClient: Sendable {
    public enum FetchError: Error, CustomStringConvertible {
        case badAddress(String)
        case unreachable(endpoint: String, reason: String)
        case httpStatus(endpoint: String, code: Int)
        case badStatus(endpoint: String, reason: String)

        public var description: String {
            switch self {
            case let .badAddress(address): "'\(address)' is not HOST:PORT (e.g. 127.0.0.1:9464)"
            case let .unreachable(endpoint, reason): "cannot reach the learner at \(endpoint): \(reason)"
            case let .httpStatus(endpoint, code): "\(endpoint) answered HTTP \(code)"
            case let .badStatus(endpoint, reason): "\(endpoint) did not return a learner status: \(reason)"
            }
        }
    }

    public let baseURL: URL
    public let timeout: Double

    /// `address` is `HOST:PORT`, `[IPv6]:PORT`, or an `http://` URL.
    public init(address: String, timeout: Double = 2) throws(FetchError) {
        let text = address.hasPrefix("http://") || address.hasPrefix("https://") ? address : "http://\(address)"
        guard let url = URL(string: text), url.host != nil, let port = url.port, (1...65_535).contains(port) else {
            throw .badAddress(address)
        }
        baseURL = url
        self.timeout = timeout
    }

    /// GETs `path`; fails within about `timeout` seconds when nothing answers.
    public func get(_ path: String) throws(FetchError) -> Data {
        let url = baseURL.appendingPathComponent(path)
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "GET"
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let result = Box()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { data, response, error in
            result.value = (data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        let endpoint = url.absoluteString
        // URLSession's own timeout should fire first; this bounds a stuck transfer all the same.
        guard done.wait(timeout: .now() + timeout + 0.5) == .success, let (data, response, error) = result.value else {
            throw .unreachable(endpoint: endpoint, reason: "no answer within \(timeout) s")
        }
        if let error {
            let timedOut = (error as? URLError)?.code == .timedOut
            throw .unreachable(endpoint: endpoint, reason: timedOut ? "no answer within \(timeout) s" : error.localizedDescription)
        }
        guard let response, let data else { throw .unreachable(endpoint: endpoint, reason: "no response") }
        guard response.statusCode == 200 else { throw .httpStatus(endpoint: endpoint, code: response.statusCode) }
        return data
    }

    public func status() throws(FetchError) -> LearnerStatus {
        let data = try get("status")
        do {
            return try LearnerStatus.decode(data)
        } catch {
            throw .badStatus(endpoint: baseURL.appendingPathComponent("status").absoluteString, reason: "\(error)")
        }
    }

    private final class Box: @unchecked Sendable {
        var value: (Data?, HTTPURLResponse?, (any Error)?)?
    }
}
