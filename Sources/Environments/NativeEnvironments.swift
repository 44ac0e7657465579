/// The environments this package implements natively. Adding one takes its own file
/// (a type conforming to ``Environment``) and one line in ``all``.
public enum NativeEnvironments {
    public static let all: [any Environment.Type] = [
        Pendulum.self,
        MountainCarContinuous.self,
        CartPole.self,
    ]

    /// The native environment with this id, if there is one.
    public static func type(named id: String) -> (any Environment.Type)? {
        all.first { $0.id == id }
    }

    public static var ids: [String] { all.map { $0.id } }
}
