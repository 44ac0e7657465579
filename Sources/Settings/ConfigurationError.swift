/// A configuration value out of range; `field` names the setting.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }

    /// Throws `ConfigurationError(field:message:)` unless `condition` holds.
    public static func check(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) throws(ConfigurationError) {
        if !condition { throw ConfigurationError(field: field, message: message()) }
    }
}
