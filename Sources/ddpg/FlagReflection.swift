import ArgumentParser
import Agents
import NeuralNetwork
import Policy
import Settings

// Each flag is declared once, as an @Option or @Flag property. What else needs flags is derived
// from those declarations by reflection, never listed again:
// - the arguments that give a child process the same options (`launch` → learner and workers);
// - which flag to name when a configuration built from the options is invalid.
// ArgumentParser names a property `--kebab-case`; `flagName(forProperty:)` does the same, and the
// round-trip test of launch's children (LaunchArgumentsTests) fails if the two ever disagree.

/// A parsed option's value as one command-line word; nil when an optional value is absent.
protocol CommandLineWord {
    var commandLineWord: String? { get }
}

extension Int: CommandLineWord { var commandLineWord: String? { "\(self)" } }
extension UInt64: CommandLineWord { var commandLineWord: String? { "\(self)" } }
extension Int32: CommandLineWord { var commandLineWord: String? { "\(self)" } }
// Swift prints the shortest text that reads back as the same value, so a float survives the trip exactly.
extension Double: CommandLineWord { var commandLineWord: String? { "\(self)" } }
extension Float: CommandLineWord { var commandLineWord: String? { "\(self)" } }
extension String: CommandLineWord { var commandLineWord: String? { self } }
extension Optional: CommandLineWord where Wrapped: CommandLineWord {
    var commandLineWord: String? { self?.commandLineWord }
}
extension CommandLineWord where Self: RawRepresentable, RawValue == String {
    var commandLineWord: String? { rawValue }
}
extension AlgorithmID: CommandLineWord { var commandLineWord: String? { rawValue } }
extension CriticLoss: CommandLineWord {}
extension NoiseKind: CommandLineWord {}
extension Normalization: CommandLineWord {}
extension OnPolicyOptimizer: CommandLineWord {}
extension LearningRateSchedule: CommandLineWord {}
extension LayerSizes: CommandLineWord { var commandLineWord: String? { defaultValueDescription } }

/// An @Option or @Flag seen through reflection: the words that set it to its value, given its flag.
protocol ReflectedArgument {
    func words(flag: String, default: ReflectedArgument) -> [String]
    var valueText: String { get }
}

extension Option: ReflectedArgument where Value: CommandLineWord {
    func words(flag: String, default: ReflectedArgument) -> [String] {
        guard let word = wrappedValue.commandLineWord, valueText != `default`.valueText else { return [] }
        return [flag, word]
    }

    var valueText: String { wrappedValue.commandLineWord ?? "" }
}

extension Flag: ReflectedArgument where Value == Bool {
    /// A flag that defaults to true is declared with `inversion: .prefixedNo`, so its off form is `--no-…`.
    func words(flag: String, default: ReflectedArgument) -> [String] {
        guard valueText != `default`.valueText else { return [] }
        return wrappedValue ? [flag] : ["--no-" + flag.dropFirst(2)]
    }

    var valueText: String { "\(wrappedValue)" }
}

/// `--actor-hidden` for `actorHidden`, as ArgumentParser derives it.
func flagName(forProperty property: some StringProtocol) -> String {
    var name = "--"
    for character in property {
        if character.isUppercase {
            name += "-" + character.lowercased()
        } else {
            name.append(character)
        }
    }
    return name
}

/// A parsed option's value as a configuration holds it (JSON's numbers and strings), for settings
/// that take the value of the option named like them.
/// What an option gives the setting named like it; nil (an optional option left out) leaves the algorithm's default.
protocol SettingValue {
    var settingValue: Any? { get }
}

extension Optional: SettingValue where Wrapped: SettingValue { var settingValue: Any? { self?.settingValue ?? nil } }

extension Int: SettingValue { var settingValue: Any? { self } }
extension Double: SettingValue { var settingValue: Any? { self } }
extension Float: SettingValue { var settingValue: Any? { Double(self) } }
extension String: SettingValue { var settingValue: Any? { self } }
extension Bool: SettingValue { var settingValue: Any? { self } }
extension OnPolicyOptimizer: SettingValue { var settingValue: Any? { rawValue } }
extension LearningRateSchedule: SettingValue { var settingValue: Any? { rawValue } }

private protocol ReflectedSetting {
    var settingValue: Any? { get }
}

extension Option: ReflectedSetting where Value: SettingValue {
    var settingValue: Any? { wrappedValue.settingValue }
}

extension Flag: ReflectedSetting where Value == Bool {
    var settingValue: Any? { wrappedValue }
}

extension ParsableArguments {
    /// Each option with a plain value, by property name: what the settings named like them take.
    var settingValues: [String: Any] {
        Dictionary(Mirror(reflecting: self).children.compactMap { child -> (String, Any)? in
            guard let label = child.label, label.hasPrefix("_"), let option = child.value as? ReflectedSetting,
                  let value = option.settingValue else { return nil }
            return (String(label.dropFirst()), value)
        }, uniquingKeysWith: { first, _ in first })
    }
}

/// An @OptionGroup seen through reflection: its options count as the command's own.
protocol ReflectedGroup {
    var group: any ParsableArguments { get }
}

extension OptionGroup: ReflectedGroup where Value: ParsableArguments {
    var group: any ParsableArguments { wrappedValue }
}

/// Set while re-parsing to find the flag behind an error: the validation that parse runs must not search again.
private enum FlagSearch {
    @TaskLocal static var isRunning = false
}

extension ParsableArguments {
    /// (flag, argument) for each @Option and @Flag of this group and the groups in it, in declaration order.
    fileprivate var reflectedArguments: [(flag: String, argument: ReflectedArgument)] {
        Mirror(reflecting: self).children.flatMap { child -> [(flag: String, argument: ReflectedArgument)] in
            guard let label = child.label, label.hasPrefix("_") else { return [] }
            if let nested = child.value as? ReflectedGroup { return nested.group.reflectedArguments }
            guard let argument = child.value as? ReflectedArgument else { return [] }
            return [(flagName(forProperty: label.dropFirst()), argument)]
        }
    }

    /// Each flag with the words that set it again (none when its value is the default); nil if
    /// this type does not parse without arguments.
    private var wordsByFlag: [(flag: String, words: [String])]? {
        guard let defaults = try? Self.parse([]) else { return nil }
        let defaultArguments = Dictionary(uniqueKeysWithValues: defaults.reflectedArguments.map { ($0.flag, $0.argument) })
        return reflectedArguments.map { ($0.flag, $0.argument.words(flag: $0.flag, default: defaultArguments[$0.flag]!)) }
    }

    /// The flags whose values differ from their defaults: those a user gave (or gave and spelled out the default of, which is not told apart).
    /// Parsing the defaults runs validation again, which asks again: that inner asking gets nothing.
    var flagsAwayFromDefault: [String] {
        guard !FlagSearch.isRunning else { return [] }
        return FlagSearch.$isRunning.withValue(true) { (wordsByFlag ?? []).filter { !$0.words.isEmpty }.map(\.flag) }
    }

    /// The arguments that give another process these same options: every option and flag whose
    /// value differs from its default (a child parsing them gets the defaults for the rest).
    var arguments: [String] {
        guard let words = wordsByFlag else { preconditionFailure("\(Self.self) needs arguments to parse") }
        return words.flatMap(\.words)
    }

    /// Stored properties of this group that reflection cannot turn back into arguments (for the test that there are none).
    static var unreflectedProperties: [String] {
        guard let defaults = try? Self.parse([]) else { return ["(cannot parse \(Self.self) without arguments)"] }
        return Mirror(reflecting: defaults).children.compactMap { child in
            guard let label = child.label, !(child.value is ReflectedArgument), !(child.value is ReflectedGroup) else { return nil }
            return label
        }
    }

    /// The flag that set `field` of `build(self)`: the one that, reset to its default, changes that
    /// field to another value; else the flag of a property named like the field; else one without
    /// which the field is absent. Runs on the error path only.
    func flag<C>(setting field: String, in build: (Self) -> C) -> String? {
        guard !FlagSearch.isRunning, let current = reflectedValue(field, in: build(self)), let given = wordsByFlag else { return flagNamed(like: field) }
        return FlagSearch.$isRunning.withValue(true) { search(field, current: current, given: given, build) }
    }

    private func search<C>(_ field: String, current: String, given: [(flag: String, words: [String])], _ build: (Self) -> C) -> String? {
        // A flag that only switches the field's whole section on (--prioritized-replay for --priority-alpha) comes last.
        var switchedOn: String?
        for (index, entry) in given.enumerated() where !entry.words.isEmpty {
            let without = given.indices.filter { $0 != index }.flatMap { given[$0].words }
            guard let reset = try? Self.parse(without) else { continue }
            switch reflectedValue(field, in: build(reset)) {
            case current: continue
            case nil: switchedOn = switchedOn ?? entry.flag
            default: return entry.flag
            }
        }
        return flagNamed(like: field) ?? switchedOn
    }

    /// The flag of the option or flag property called `field`, if this group or a group in it declares one.
    func flagNamed(like field: String) -> String? {
        let flag = flagName(forProperty: field)
        return reflectedArguments.contains { $0.flag == flag } ? flag : nil
    }
}

/// The description of the first stored property named `name`, searching nested values depth first.
func reflectedValue(_ name: String, in value: Any) -> String? {
    for child in Mirror(reflecting: value).children {
        if child.label == name { return String(describing: child.value) }
        if let nested = reflectedValue(name, in: child.value) { return nested }
    }
    return nil
}

extension ConfigurationError {
    /// The error phrased in terms of the flag that caused it: the one among `command`'s options
    /// (and its groups') that, reset, changes the field `build(command)` found invalid.
    func validationError<Command: ParsableArguments, C>(in command: Command, _ build: (Command) -> C) -> ValidationError {
        ValidationError("\(command.flag(setting: field, in: build) ?? field): \(message)")
    }
}
