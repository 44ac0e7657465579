import ArgumentParser
import Agents
import NeuralNetwork
import Policy
import Settings

/// Comma-separated hidden layer widths, e.g. `64,64`.
struct LayerSizes: ExpressibleByArgument, Sendable {
    var sizes: [Int]

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { return nil }
        sizes = values.map { $0! }
    }

    init(_ sizes: [Int]) { self.sizes = sizes }

    var defaultValueDescription: String { sizes.map(String.init).joined(separator: ",") }
}

extension NoiseKind: ExpressibleByArgument {}
extension CriticLoss: ExpressibleByArgument {}
/// Any name parses; validation names `--algorithm` and lists the registered ones.
extension AlgorithmID: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { Algorithms.all.map { $0.id.rawValue } }
}
extension Normalization: ExpressibleByArgument {}
extension OnPolicyOptimizer: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}

/// The agent's hyperparameters as flags; defaults are ``AgentConfiguration``'s and each algorithm's.
/// An algorithm's own settings take the values of the options named like them (`policyDelay` here
/// sets TD3's `policyDelay`): declaring the option is all an algorithm's setting needs.
///
/// Options parse their value unconditionally so that negative numbers
/// (`--reward-shift -1`, or a mistaken `--replay-capacity -5`) reach validation
/// instead of being read as flags.
struct AgentOptions: ParsableArguments {
    private static let defaults = AgentConfiguration()

    @Option(parsing: .unconditional, help: "Update rule: \(Algorithms.all.map { "\($0.id) (\($0.summary))" }.joined(separator: "; ")).")
    var algorithm = defaults.algorithm

    @Option(parsing: .unconditional, help: "Actor hidden layer sizes, comma-separated.")
    var actorHidden = LayerSizes(defaults.actorHiddenSizes)

    @Option(parsing: .unconditional, help: "Critic hidden layer sizes, comma-separated.")
    var criticHidden = LayerSizes(defaults.criticHiddenSizes)

    @Option(parsing: .unconditional, help: "Critic layer the action joins: 0 = with the observation (TD3, SB3), 1 = after the first hidden layer (the DDPG paper).")
    var criticActionLayer = defaults.criticActionLayer

    @Option(parsing: .unconditional, help: "Actor Adam learning rate.")
    var actorLr = defaults.actorLearningRate

    @Option(parsing: .unconditional, help: "Critic Adam learning rate.")
    var criticLr = defaults.criticLearningRate

    @Option(parsing: .unconditional, help: "L2 weight decay on the critic (the paper: 0.01).")
    var criticWeightDecay = defaults.criticWeightDecay

    @Option(parsing: .unconditional, help: "Discount factor γ.")
    var gamma = defaults.discount

    @Option(parsing: .unconditional, help: "Polyak rate τ of the soft target update, in (0, 1].")
    var tau = defaults.tau

    @Option(parsing: .unconditional, help: "Copy online networks into the targets every K updates instead of Polyak averaging (0 = off).")
    var hardTargetEvery = defaults.hardTargetUpdateInterval

    @Option(parsing: .unconditional, help: "Minibatch size.")
    var batchSize = defaults.batchSize

    @Option(parsing: .unconditional, help: "Critic loss: \(CriticLoss.allCases.map(\.rawValue).joined(separator: ", ")).")
    var criticLoss = defaults.criticLoss

    @Option(parsing: .unconditional, help: "Threshold of the Huber loss.")
    var huberDelta = defaults.huberDelta

    @Option(parsing: .unconditional, help: "Clip each network's gradient to this global L2 norm (0 = no clipping).")
    var gradClipNorm = defaults.gradientClipNorm

    @Option(parsing: .unconditional, help: "Rewards enter the target as scale·r + shift.")
    var rewardScale = defaults.rewardScale

    @Option(parsing: .unconditional, help: "Added to every scaled reward in the target (see --reward-scale).")
    var rewardShift = defaults.rewardShift

    @Option(parsing: .unconditional, help: "Final layers start from U[-x, x].")
    var finalLayerInit = defaults.finalLayerInitScale

    @Option(parsing: .unconditional, help: "Actor hidden layers' normalization: none, layer, or batch (the DDPG paper's; running statistics act, and travel with the weights).")
    var actorNorm = defaults.actorNormalization

    @Option(parsing: .unconditional, help: "Critic hidden layers' normalization: none, layer or batch.")
    var criticNorm = defaults.criticNormalization

    @Option(parsing: .unconditional, help: "n-step returns: each transition sums n discounted rewards and bootstraps from the state n steps on (workers compute them; a termination cuts them, a truncation bootstraps).")
    var nStep = defaults.nStep

    @Flag(help: "Normalize observations by running estimates of their mean and variance, from the transitions as they arrive (replay keeps them raw); the estimates travel with the weights and into checkpoints (off-policy algorithms).")
    var normalizeObservations = false

    @Option(parsing: .unconditional, help: "With --normalize-observations: clip every normalized value to ± this.")
    var observationClip = defaults.observationClip

    @Option(parsing: .unconditional, help: "TD3: actor and target updates once every this many critic updates (default \(TD3.Settings().policyDelay)); CrossQ: actor and α updates (default \(CrossQ.Settings().policyDelay)).")
    var policyDelay: Int?

    @Option(parsing: .unconditional, help: "TD3: σ of the target policy smoothing noise, as a fraction of each action's half-range.")
    var targetNoise = TD3.Settings().targetNoise

    @Option(parsing: .unconditional, help: "TD3: the smoothing noise is clipped to ± this fraction of each action's half-range.")
    var targetNoiseClip = TD3.Settings().targetNoiseClip

    @Option(parsing: .unconditional, help: "SAC: the entropy temperature α at the start.")
    var initialAlpha = SAC.Settings().initialAlpha

    @Option(parsing: .unconditional, help: "SAC: Adam's learning rate for log α (0 keeps α fixed).")
    var alphaLearningRate = SAC.Settings().alphaLearningRate

    @Option(parsing: .unconditional, help: "SAC: the entropy α is tuned toward, per action dimension (−1: the paper's −|A|).")
    var targetEntropy = SAC.Settings().targetEntropy

    @Option(parsing: .unconditional, help: "CrossQ: Adam's β1 for the actor and the critics.")
    var adamBeta1 = CrossQ.Settings().adamBeta1

    @Option(parsing: .unconditional, help: "CrossQ: momentum of the critics' running batch moments.")
    var batchNormMomentum = CrossQ.Settings().batchNormMomentum

    @Option(parsing: .unconditional, help: "CrossQ: ε of the critics' batch renormalization.")
    var batchNormEpsilon = CrossQ.Settings().batchNormEpsilon

    @Option(parsing: .unconditional, help: "CrossQ: critic steps on batch moments alone before batch renormalization corrects them toward the running ones.")
    var renormWarmup = CrossQ.Settings().renormWarmup

    @Option(parsing: .unconditional, help: "A2C/A3C: steps each environment acts with the current policy per segment (SB3's n_steps).")
    var rolloutSteps = OnPolicySettings().rolloutSteps

    /// Whether `--algorithm` learns on-policy (its workers send segments or gradients, not transitions).
    var isOnPolicy: Bool { Algorithms.named(algorithm)?.isOnPolicy == true }

    /// What an on-policy learner's workers are started with: their segments' length, and for A3C's the loss
    /// settings they compute gradients with.
    var onPolicyWorkerArguments: [String] {
        var arguments = ["--rollout-steps", "\(rolloutSteps)"]
        guard (Algorithms.named(algorithm) as? any OnPolicyAlgorithm.Type)?.isAsynchronous == true else { return arguments }
        arguments += ["--gradients", "--gamma", "\(gamma)", "--gae-lambda", "\(gaeLambda)", "--vf-coef", "\(vfCoef)", "--ent-coef", "\(entCoef)"]
        return arguments + (normalizeAdvantage ? ["--normalize-advantage"] : [])
    }

    @Option(parsing: .unconditional, help: "A2C/A3C: λ of the generalized advantage estimate (1: n-step returns).")
    var gaeLambda = OnPolicySettings().gaeLambda

    @Option(parsing: .unconditional, help: "A2C/A3C: weight of the value loss.")
    var vfCoef = OnPolicySettings().vfCoef

    @Option(parsing: .unconditional, help: "A2C/A3C: weight of the entropy bonus.")
    var entCoef = OnPolicySettings().entCoef

    @Option(parsing: .unconditional, help: "A2C/A3C: the optimizer's learning rate (both networks).")
    var learningRate = OnPolicySettings().learningRate

    @Option(parsing: .unconditional, help: "A2C/A3C: the learning rate's schedule: \(LearningRateSchedule.allCases.map(\.rawValue).joined(separator: ", ")) (auto: constant for a2c, as SB3's; linear to 0 at --max-env-steps for a3c, as Mnih et al.'s).")
    var learningRateSchedule = OnPolicySettings().learningRateSchedule

    @Option(parsing: .unconditional, help: "A2C/A3C: clip both networks' gradient together to this L2 norm (0: never).")
    var maxGradNorm = OnPolicySettings().maxGradNorm

    @Option(parsing: .unconditional, help: "A2C/A3C: \(OnPolicyOptimizer.allCases.map(\.rawValue).joined(separator: " or ")).")
    var optimizer = OnPolicySettings().optimizer

    @Option(parsing: .unconditional, help: "A2C/A3C: RMSprop's decay of the squared-gradient average.")
    var rmspropAlpha = OnPolicySettings().rmspropAlpha

    @Option(parsing: .unconditional, help: "A2C/A3C: RMSprop's ε, added to the root (PyTorch's placement).")
    var rmspropEpsilon = OnPolicySettings().rmspropEpsilon

    @Flag(help: "A2C/A3C: standardize each batch's advantages.")
    var normalizeAdvantage = false

    @Option(parsing: .unconditional, help: "A2C/A3C: the Gaussian head's log σ at the start (Box action spaces).")
    var logStdInit = OnPolicySettings().logStdInit

    @Option(parsing: .unconditional, help: "A3C: reject a gradient computed at weights more than this many versions old.")
    var maxStaleness = OnPolicySettings().maxStaleness

    @Option(parsing: .unconditional, help: "A3C: reject a worker's gradient whose L2 norm over both networks exceeds this (before clipping).")
    var gradientNormLimit = OnPolicySettings().gradientNormLimit

    var configuration: AgentConfiguration {
        var c = AgentConfiguration()
        c.actorHiddenSizes = actorHidden.sizes
        c.criticHiddenSizes = criticHidden.sizes
        c.criticActionLayer = criticActionLayer
        c.actorLearningRate = actorLr
        c.criticLearningRate = criticLr
        c.criticWeightDecay = criticWeightDecay
        c.discount = gamma
        c.tau = tau
        c.hardTargetUpdateInterval = hardTargetEvery
        c.batchSize = batchSize
        c.criticLoss = criticLoss
        c.huberDelta = huberDelta
        c.gradientClipNorm = gradClipNorm
        c.rewardScale = rewardScale
        c.rewardShift = rewardShift
        c.finalLayerInitScale = finalLayerInit
        c.algorithm = algorithm
        c.nStep = nStep
        c.actorNormalization = actorNorm
        c.criticNormalization = criticNorm
        c.normalizeObservations = normalizeObservations
        c.observationClip = observationClip
        // An unknown algorithm has no settings; validation names it.
        if let chosen = Algorithms.named(algorithm), let settings = try? chosen.settings(overriding: settingValues) {
            c.algorithmSettings[algorithm] = settings
        }
        return c
    }

}

extension AgentOptions {
    /// Every algorithm's settings as these flags give them must be valid, whichever algorithm runs:
    /// `--policy-delay 0` is a mistake with DDPG too. Their fields are named like their flags.
    func validateAlgorithmSettings() throws {
        for algorithm in Algorithms.all {
            guard let settings = try? algorithm.settings(overriding: settingValues) else { continue }
            do {
                try algorithm.validate(settings)
            } catch {
                throw ValidationError("\(flagNamed(like: error.field) ?? error.field): \(error.message)")
            }
        }
    }
}

/// Exploration noise flags.
struct NoiseOptions: ParsableArguments {
    private static let defaults = NoiseConfiguration()

    @Option(parsing: .unconditional, help: "Exploration noise: \(NoiseKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var noise = defaults.kind

    @Option(parsing: .unconditional, help: "Noise scale σ, as a fraction of the action bound (default: 0.1 for train; 0.2 for workers, the base of the Ape-X spread).")
    var noiseSigma: Double?

    /// Workers start wider: the spread σ^(1 + α·i/(N−1)) only narrows from the base.
    static let workerBaseSigma = 0.2

    @Option(parsing: .unconditional, help: "Ornstein–Uhlenbeck mean reversion θ.")
    var ouTheta = defaults.ouTheta

    @Option(parsing: .unconditional, help: "Ornstein–Uhlenbeck time step.")
    var ouDt = defaults.ouDt

    /// The noise of single-process training.
    var configuration: NoiseConfiguration {
        NoiseConfiguration(kind: noise, sigma: noiseSigma ?? Self.defaults.sigma, ouTheta: ouTheta, ouDt: ouDt)
    }

    /// The base noise of a worker.
    var workerConfiguration: NoiseConfiguration {
        NoiseConfiguration(kind: noise, sigma: noiseSigma ?? Self.workerBaseSigma, ouTheta: ouTheta, ouDt: ouDt)
    }

    /// Checks a worker's noise, naming the flag at fault.
    func validateWorkerNoise() throws {
        do {
            try workerConfiguration.validate()
        } catch {
            throw error.validationError(in: self, \.workerConfiguration)
        }
    }
}
