import ArgumentParser
import Foundation
import Ingest
import WireProtocol
import Learner
import Worker
import ZeroMQ

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "CURVE keys for securing a learner and its workers.",
        subcommands: [GenerateKeys.self]
    )
}

struct GenerateKeys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a CURVE keypair: NAME.key (secret, mode 0600) and NAME.pub (public).",
        discussion: """
            Give the learner its NAME.key with --curve-secret-key and its NAME.pub to every worker \
            (--learner-public-key). Give each worker its own NAME.key, and put its NAME.pub in the \
            learner's --authorized-keys directory. See docs/SECURITY.md.
            """
    )

    @Option(parsing: .unconditional, help: "Directory to write the keys into (created if missing).")
    var out: String

    @Option(parsing: .unconditional, help: "File name of the pair, without extension.")
    var name = "ddpg"

    func validate() throws {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else { throw ValidationError("--name: '\(name)' is not a plain file name") }
        guard Curve.isAvailable else { throw ValidationError("this libzmq is built without CURVE (libsodium); install Debian's libzmq5") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: out)
        let secretFile = directory.appendingPathComponent("\(name).key"), publicFile = directory.appendingPathComponent("\(name).pub")
        for file in [secretFile, publicFile] where FileManager.default.fileExists(atPath: file.path) {
            throw ValidationError("--out: \(file.path) exists; not overwriting a key")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--out: cannot create '\(out)': \(error.localizedDescription)")
        }
        let pair = try Curve.generateKeyPair()
        try CurveKeyFile.write(secret: pair, to: secretFile)
        try CurveKeyFile.write(publicKey: pair.publicKey, to: publicFile)
        print(secretFile.path)
        print(publicFile.path)
    }
}

/// The key files of `ddpg keys generate`: comment lines starting with '#', then the Z85 key.
enum CurveKeyFile {
    static func write(secret pair: CurveKeyPair, to file: URL) throws {
        let text = "# ddpg CURVE secret key: keep it private. Its public key is \(pair.publicKey)\n\(pair.secretKey)\n"
        // Created with mode 0600 from the start, so the secret is never readable by others.
        let fd = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ValidationError("cannot create \(file.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard Foundation.write(fd, bytes, bytes.count) == bytes.count else { throw ValidationError("cannot write \(file.path)") }
    }

    static func write(publicKey: String, to file: URL) throws {
        try Data("# ddpg CURVE public key\n\(publicKey)\n".utf8).write(to: file, options: .withoutOverwriting)
    }

    /// The Z85 key in `path`, checked; `flag` names the option in errors.
    static func read(_ path: String, flag: String) throws -> String {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("\(flag): cannot read '\(path)': \(error.localizedDescription)")
        }
        guard let key = text.split(whereSeparator: \.isNewline).map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { !$0.isEmpty && !$0.hasPrefix("#") }), Curve.isValidKey(key) else {
            throw ValidationError("\(flag): '\(path)' holds no CURVE key (40 Z85 characters, as `ddpg keys generate` writes)")
        }
        return key
    }

    /// The public keys of every `*.pub` file in `directory`.
    static func readAuthorized(_ directory: String, flag: String) throws -> Set<String> {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ValidationError("\(flag): cannot list '\(directory)': \(error.localizedDescription)")
        }
        let keys = try names.filter { $0.hasSuffix(".pub") }.sorted().map { try read((directory as NSString).appendingPathComponent($0), flag: flag) }
        guard !keys.isEmpty else { throw ValidationError("\(flag): '\(directory)' holds no .pub files; no worker could connect") }
        return Set(keys)
    }
}

/// CURVE flags of the learner.
struct LearnerSecurityOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "The learner's CURVE secret key file (from `ddpg keys generate`). Requires --authorized-keys; encrypts both sockets.")
    var curveSecretKey: String?

    @Option(parsing: .unconditional, help: "Directory of worker public keys (*.pub) allowed to connect.")
    var authorizedKeys: String?

    @Option(parsing: .unconditional, help: "Directory of evaluator public keys (*.pub): with CURVE, only these may evaluate (they may connect too).")
    var evaluatorKeys: String?

    @Option(parsing: .unconditional, help: "A secret of 1-32 bytes that evaluators show in their hello (or set DDPG_EVALUATOR_TOKEN, which keeps it out of `ps`). `launch` makes one for its own evaluators.")
    var evaluatorToken: String?

    func validate() throws {
        if (curveSecretKey == nil) != (authorizedKeys == nil) {
            throw ValidationError(curveSecretKey == nil ? "--authorized-keys: needs --curve-secret-key" : "--curve-secret-key: needs --authorized-keys (the workers allowed in)")
        }
        if evaluatorKeys != nil, curveSecretKey == nil { throw ValidationError("--evaluator-keys: needs --curve-secret-key") }
        _ = try security()
        _ = try evaluators()
    }

    func security() throws -> LearnerSecurity? {
        guard let curveSecretKey, let authorizedKeys else { return nil }
        guard Curve.isAvailable else { throw ValidationError("--curve-secret-key: this libzmq is built without CURVE") }
        return LearnerSecurity(secretKey: try CurveKeyFile.read(curveSecretKey, flag: "--curve-secret-key"),
                               authorizedKeys: try CurveKeyFile.readAuthorized(authorizedKeys, flag: "--authorized-keys"),
                               evaluatorKeys: try evaluatorKeys.map { try CurveKeyFile.readAuthorized($0, flag: "--evaluator-keys") } ?? [])
    }

    /// Who may evaluate: `--evaluator-keys`, and `--evaluator-token` (or DDPG_EVALUATOR_TOKEN).
    func evaluators() throws -> EvaluatorAuthorization {
        let keys = try evaluatorKeys.map { try CurveKeyFile.readAuthorized($0, flag: "--evaluator-keys") }
        return EvaluatorAuthorization(keys: keys, token: try EvaluatorTokenOption.token(evaluatorToken))
    }

}

/// `--evaluator-token`, or the DDPG_EVALUATOR_TOKEN environment variable when the flag is absent.
enum EvaluatorTokenOption {
    static let environmentVariable = "DDPG_EVALUATOR_TOKEN"

    static func token(_ flag: String?) throws -> EvaluatorToken? {
        guard let secret = flag ?? ProcessInfo.processInfo.environment[environmentVariable], !secret.isEmpty || flag != nil else { return nil }
        guard let token = EvaluatorToken(secret: secret) else {
            throw ValidationError("--evaluator-token: must be 1 to \(EvaluatorToken.byteCount) bytes, got \(secret.utf8.count)")
        }
        return token
    }

    /// A fresh random token, as `launch` gives its learner and evaluators: 32 hexadecimal digits.
    static func random() -> String {
        (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// CURVE flags of a worker.
struct WorkerSecurityOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "This worker's CURVE secret key file. Requires --learner-public-key.")
    var curveSecretKey: String?

    @Option(parsing: .unconditional, help: "The learner's CURVE public key file.")
    var learnerPublicKey: String?

    @Option(parsing: .unconditional, help: "(--evaluator) the learner's --evaluator-token (or set DDPG_EVALUATOR_TOKEN).")
    var evaluatorToken: String?

    func validate() throws {
        if (curveSecretKey == nil) != (learnerPublicKey == nil) {
            throw ValidationError(curveSecretKey == nil ? "--learner-public-key: needs --curve-secret-key" : "--curve-secret-key: needs --learner-public-key")
        }
        _ = try security()
        _ = try EvaluatorTokenOption.token(evaluatorToken)
    }

    func security() throws -> WorkerSecurity? {
        guard let curveSecretKey, let learnerPublicKey else { return nil }
        let secret = try CurveKeyFile.read(curveSecretKey, flag: "--curve-secret-key")
        guard let publicKey = Curve.publicKey(secretKey: secret) else { throw ValidationError("--curve-secret-key: '\(curveSecretKey)' is not a valid secret key") }
        return WorkerSecurity(keys: CurveKeyPair(publicKey: publicKey, secretKey: secret),
                              learnerPublicKey: try CurveKeyFile.read(learnerPublicKey, flag: "--learner-public-key"))
    }
}
