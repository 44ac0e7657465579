import Randomness
import Testing
@testable import NeuralNetwork

/// A scalar loss L = Σ c·y with fixed random coefficients, so that dL/dy = c.
struct LinearProbe {
    let coefficients: [Float]
    /// Batch statistics without updating the running ones, so that repeated passes see the same function.
    var mode = ForwardMode.inference

    init(count: Int, generator: inout Xoshiro256, mode: ForwardMode = .inference) {
        coefficients = (0..<count).map { _ in generator.nextUniform(Float(-1), 1) }
        self.mode = mode
    }

    func loss(_ network: MLP, _ workspace: MLPWorkspace, batch: Int) -> Double {
        network.forward(batch: batch, workspace: workspace, mode: mode)
        let y = workspace.output(batch: batch).toArray()
        return zip(y, coefficients).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Runs forward and backward, leaving analytic gradients in the network and workspace.
    func backward(_ network: MLP, _ workspace: MLPWorkspace, batch: Int) {
        network.forward(batch: batch, workspace: workspace, mode: mode)
        workspace.outputGradient(batch: batch).assign(coefficients)
        network.backward(batch: batch, workspace: workspace, parameterGradients: true, inputGradient: true,
                         auxiliaryGradient: network.architecture.auxiliaryInput != nil)
    }
}

/// Which hidden ReLU units are active, over the whole batch.
func activationPattern(_ network: MLP, _ workspace: MLPWorkspace, batch: Int) -> [Bool] {
    network.layers.indices.dropLast().flatMap { workspace.layerOutput($0, batch: batch).toArray().map { $0 > 0 } }
}

/// Counts finite-difference comparisons, and those skipped because a ReLU kink lay within the step.
final class GradientCheck {
    var compared = 0
    var skipped = 0
}

/// Compares an analytic derivative with the central difference of `loss` in the float behind `pointer`.
/// A difference taken across a ReLU kink measures a different function, so it is skipped and counted.
func expectGradient(
    _ analytic: Float, at pointer: UnsafeMutablePointer<Float>, _ what: String, check: GradientCheck,
    network: MLP, workspace: MLPWorkspace, batch: Int, loss: () -> Double,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let step: Float = 1e-3
    let saved = pointer.pointee
    _ = loss()
    let pattern = activationPattern(network, workspace, batch: batch)
    pointer.pointee = saved + step
    let up = loss()
    let patternUp = activationPattern(network, workspace, batch: batch)
    pointer.pointee = saved - step
    let down = loss()
    let patternDown = activationPattern(network, workspace, batch: batch)
    pointer.pointee = saved
    guard pattern == patternUp, pattern == patternDown else {
        check.skipped += 1
        return
    }
    check.compared += 1
    let numeric = (up - down) / Double(2 * step)
    let tolerance = 1e-3 + 1e-2 * abs(numeric)
    #expect(abs(Double(analytic) - numeric) <= tolerance, "\(what): analytic \(analytic) vs numeric \(numeric)", sourceLocation: sourceLocation)
}

/// Checks every weight, bias, input and auxiliary-input gradient of `architecture` against finite differences.
func checkGradients(_ architecture: MLPArchitecture, batch: Int = 5, seed: UInt64 = 11, mode: ForwardMode = .inference,
                    prepare: (MLP) -> Void = { _ in }) {
    var generator = Xoshiro256(seed: seed)
    // A larger final-layer scale than DDPG's 3e-3 keeps every gradient well above the float32 noise floor.
    let network = MLP(architecture, finalLayerScale: 0.5, using: &generator)
    let workspace = MLPWorkspace(for: network, capacity: batch)
    let input = workspace.input(batch: batch)
    input.assign((0..<(batch * input.columns)).map { _ in generator.nextUniform(Float(-1.5), 1.5) })
    if architecture.auxiliaryInput != nil {
        let aux = workspace.auxiliaryInput(batch: batch)
        aux.assign((0..<(batch * aux.columns)).map { _ in generator.nextUniform(Float(-1.5), 1.5) })
    }
    if network.statistics.count > 0 {
        // Running statistics away from the identity, so that inference mode is not the trivial case.
        for i in 0..<network.statistics.count { network.statistics.values[i] = generator.nextUniform(Float(0.2), 1.5) }
    }
    prepare(network)
    let probe = LinearProbe(count: batch * architecture.outputSize, generator: &generator, mode: mode)
    probe.backward(network, workspace, batch: batch)
    let parameterGradients = network.gradients.toArray()
    let inputGradients = workspace.inputGradient(batch: batch).toArray()
    let auxGradients = architecture.auxiliaryInput != nil ? workspace.auxiliaryGradient(batch: batch).toArray() : []
    let loss = { probe.loss(network, workspace, batch: batch) }
    let check = GradientCheck()
    func expect(_ analytic: Float, _ pointer: UnsafeMutablePointer<Float>, _ what: String) {
        expectGradient(analytic, at: pointer, what, check: check, network: network, workspace: workspace, batch: batch, loss: loss)
    }

    for (index, layer) in network.layers.enumerated() {
        for i in layer.weightOffset..<layer.biasOffset {
            expect(parameterGradients[i], network.parameters.values + i, "layer \(index) weight \(i - layer.weightOffset)")
        }
        for i in layer.biasOffset..<(layer.biasOffset + layer.outputSize) {
            expect(parameterGradients[i], network.parameters.values + i, "layer \(index) bias \(i - layer.biasOffset)")
        }
        if layer.normalization != .none {
            for i in layer.scaleOffset..<(layer.scaleOffset + 2 * layer.outputSize) {
                expect(parameterGradients[i], network.parameters.values + i, "layer \(index) gain/shift \(i - layer.scaleOffset)")
            }
        }
    }
    for r in 0..<batch {
        for c in 0..<input.columns {
            expect(inputGradients[r * input.columns + c], input.row(r) + c, "input [\(r), \(c)]")
        }
    }
    if architecture.auxiliaryInput != nil {
        let aux = workspace.auxiliaryInput(batch: batch)
        for r in 0..<batch {
            for c in 0..<aux.columns {
                expect(auxGradients[r * aux.columns + c], aux.row(r) + c, "auxiliary input [\(r), \(c)]")
            }
        }
    }
    // Kinks are rare: most coordinates must have been compared (one unit near zero can shadow ~15%).
    #expect(check.compared > 0)
    #expect(check.skipped * 5 <= check.compared + check.skipped, "\(check.skipped) of \(check.compared + check.skipped) coordinates skipped at ReLU kinks")
}

@Suite("Finite-difference gradient checks")
struct GradientCheckTests {
    @Test("every activation: weights, biases and inputs", arguments: Activation.allCases)
    func singleLayer(activation: Activation) {
        checkGradients(MLPArchitecture(inputSize: 4, hiddenSizes: [], outputSize: 3, outputActivation: activation))
    }

    @Test("ReLU hidden layers with a tanh output, as the actor")
    func actorShape() {
        checkGradients(MLPArchitecture(inputSize: 3, hiddenSizes: [7, 6], outputSize: 2, hiddenActivation: .relu, outputActivation: .tanh))
    }

    @Test("wide layers go through sgemm, narrow ones through the small-dimension paths")
    func widerLayers() {
        checkGradients(MLPArchitecture(inputSize: 9, hiddenSizes: [20, 17], outputSize: 5, outputActivation: .tanh), batch: 6)
    }

    @Test("auxiliary input joining at each layer", arguments: [0, 1, 2])
    func auxiliaryInput(layer: Int) {
        checkGradients(MLPArchitecture(inputSize: 3, hiddenSizes: [8, 6], outputSize: 1,
                                       auxiliaryInput: AuxiliaryInput(size: 2, layer: layer)))
    }

    @Test("layer normalization, and batch normalization in training and in inference mode, with the action joining the critic",
          arguments: [(Normalization.layer, ForwardMode.inference), (.batch, .training(updatingStatistics: false)), (.batch, .inference)])
    func normalization(kind: Normalization, mode: ForwardMode) {
        checkGradients(MLPArchitecture(inputSize: 3, hiddenSizes: [7, 6], outputSize: 2, outputActivation: .tanh, normalization: kind),
                       batch: 6, mode: mode)
        checkGradients(MLPArchitecture(inputSize: 3, hiddenSizes: [8, 6], outputSize: 1, auxiliaryInput: AuxiliaryInput(size: 2, layer: 1),
                                       normalization: kind), batch: 6, mode: mode)
    }

    @Test("batch renormalization with r and d at their bounds, where they are constants as the backward pass takes them")
    func renormalizationGradients() {
        for actionLayer in [0, 1] {
            checkGradients(MLPArchitecture(inputSize: 3, hiddenSizes: [8, 6], outputSize: 1, auxiliaryInput: AuxiliaryInput(size: 2, layer: actionLayer),
                                           normalization: .batch), batch: 6, mode: .training(updatingStatistics: false)) { network in
                network.batchNormalization = BatchNormalizationSettings(momentum: 0.01, epsilon: 1e-3, renormalization: .init(warmup: 0))
                // Running moments far from any batch's: σ_B/σ above r_max = 3 and (μ_B − μ)/σ above d_max = 5 in every unit.
                for layer in network.layers where layer.statisticsCount > 0 {
                    (network.statistics.values + layer.statisticsOffset).update(repeating: -50, count: layer.outputSize)
                    (network.statistics.values + layer.statisticsOffset + layer.outputSize).update(repeating: 1e-4, count: layer.outputSize)
                }
            }
        }
    }

    @Test("batch renormalization: within its bounds a batch is normalized as the running moments would; before its warmup, as batch normalization")
    func renormalization() {
        var generator = Xoshiro256(seed: 3)
        let architecture = MLPArchitecture(inputSize: 3, hiddenSizes: [5], outputSize: 2, normalization: .batch)
        let network = MLP(architecture, finalLayerScale: 0.5, using: &generator)
        network.batchNormalization = BatchNormalizationSettings(momentum: 1, epsilon: 1e-3, renormalization: .init(warmup: 1))
        let workspace = MLPWorkspace(for: network, capacity: 6)
        let first = (0..<18).map { _ in generator.nextUniform(Float(-1), 1) }
        workspace.input(batch: 6).assign(first)
        network.forward(batch: 6, workspace: workspace, mode: .training(updatingStatistics: true))
        #expect(!workspace.usedRenormalization[0] && network.statisticsUpdates == 1, "the first batch is in the warmup")
        // Momentum 1: the running moments are now the first batch's. A nearby batch stays within r_max and d_max.
        let second = first.map { $0 * 1.1 + 0.05 }
        workspace.input(batch: 6).assign(second)
        network.forward(batch: 6, workspace: workspace, mode: .training(updatingStatistics: false))
        #expect(workspace.usedRenormalization[0])
        let corrections = workspace.renormalizationCorrections[0]!.view.toArray()
        #expect(corrections[0..<5].allSatisfy { $0 > 1 / 3 && $0 < 3 } && corrections[5...].allSatisfy { abs($0) < 5 } && corrections[5...].contains { $0 != 0 })
        let renormalized = workspace.output(batch: 6).toArray()
        network.forward(batch: 6, workspace: workspace, mode: .inference)
        let running = workspace.output(batch: 6).toArray()
        for (a, b) in zip(renormalized, running) { #expect(abs(a - b) < 1e-4, "\(a) vs \(b)") }
    }

    @Test("batch normalization: batch statistics when training, folded into the running ones; those when acting")
    func batchStatistics() {
        var generator = Xoshiro256(seed: 2)
        let network = MLP(MLPArchitecture(inputSize: 2, hiddenSizes: [3], outputSize: 1, normalization: .batch), finalLayerScale: 0.5, using: &generator)
        let workspace = MLPWorkspace(for: network, capacity: 4)
        let rows: [Float] = [1, 2, 3, 4, -1, 0, 2, 2]
        workspace.input(batch: 4).assign(rows)
        network.forward(batch: 4, workspace: workspace, mode: .training(updatingStatistics: true))
        // The pre-activations' batch mean and unbiased variance, by hand, per unit.
        let z = (0..<4).map { r in (0..<3).map { u in
            rows[2 * r] * network.weights(0)[0, u] + rows[2 * r + 1] * network.weights(0)[1, u] + network.biases(0)[u]
        } }
        for u in 0..<3 {
            let mean = z.map { $0[u] }.reduce(0, +) / 4
            let variance = z.map { ($0[u] - mean) * ($0[u] - mean) }.reduce(0, +) / 3
            #expect(abs(network.statistics.values[u] - 0.1 * mean) < 1e-5, "running mean moves 10% toward the batch's")
            #expect(abs(network.statistics.values[3 + u] - (0.9 + 0.1 * variance)) < 1e-4, "running variance moves 10% toward the batch's")
        }
        // Training mode: each unit's normalized pre-activation has mean 0 and variance ≈ 1 over the batch.
        let saved = workspace.normalized[0]!.view.topRows(4).toArray()
        for u in 0..<3 {
            let column = (0..<4).map { saved[3 * $0 + u] }
            #expect(abs(column.reduce(0, +)) < 1e-4 && abs(column.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-2)
        }
        // Inference mode uses the running statistics: one row gives the same output alone as in a batch.
        network.forward(batch: 4, workspace: workspace, mode: .inference)
        let batched = workspace.output(batch: 4).toArray()
        workspace.input(batch: 1).assign(Array(rows[2..<4]))
        network.forward(batch: 1, workspace: workspace, mode: .inference)
        #expect(workspace.output(batch: 1)[0, 0] == batched[1])
    }

    @Test("partial backward passes agree with the full one")
    func partialBackward() {
        var generator = Xoshiro256(seed: 4)
        let architecture = MLPArchitecture(inputSize: 3, hiddenSizes: [8, 8], outputSize: 1, auxiliaryInput: AuxiliaryInput(size: 1, layer: 1))
        let network = MLP(architecture, finalLayerScale: 0.5, using: &generator)
        let workspace = MLPWorkspace(for: network, capacity: 4)
        workspace.input(batch: 4).assign((0..<12).map { _ in generator.nextUniform(Float(-1), 1) })
        workspace.auxiliaryInput(batch: 4).assign((0..<4).map { _ in generator.nextUniform(Float(-1), 1) })
        let probe = LinearProbe(count: 4, generator: &generator)
        probe.backward(network, workspace, batch: 4)
        let full = workspace.auxiliaryGradient(batch: 4).toArray()
        network.gradients.zero()
        network.forward(batch: 4, workspace: workspace)
        workspace.outputGradient(batch: 4).assign(probe.coefficients)
        network.backward(batch: 4, workspace: workspace, parameterGradients: false, auxiliaryGradient: true)
        #expect(workspace.auxiliaryGradient(batch: 4).toArray() == full)
        #expect(network.gradients.toArray().allSatisfy { $0 == 0 }, "a dQ/da pass must not touch parameter gradients")
    }
}
