"""The ddpg wire protocol's vocabulary (docs/PROTOCOL.md): its constants and limits, every message kind as a
dataclass, and the sizes of the variable-length messages. Pure data; ``wire`` encodes and decodes them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

MAGIC = b"DDPG"
VERSION = 8
HEADER = struct.Struct("<4sHBBI")
MAX_TRANSITIONS_PER_MESSAGE = 4096
MAX_WORKER_MESSAGE_BYTES = 256 << 10
MAX_EVALUATION_EPISODES = 1000
MAX_DIMENSION = 1024
MAX_DISCRETE_ACTIONS = 1024
MAX_ID_LENGTH = 64

HELLO, TRANSITIONS, EPISODE, WORKER_STATUS, EVALUATION, SEGMENT, GRADIENT = 1, 2, 3, 4, 5, 6, 7
WEIGHTS, SHUTDOWN, ANNOUNCE, ACKNOWLEDGEMENT = 16, 17, 18, 19
ROLES = {0: "actor", 1: "evaluator"}
TOKEN_BYTES = 32
NO_TOKEN = bytes(TOKEN_BYTES)


def evaluator_token(secret: str) -> bytes:
    """A secret of 1 to 32 UTF-8 bytes as the hello carries it: zero-padded to 32."""
    raw = secret.encode()
    if not 1 <= len(raw) <= TOKEN_BYTES:
        raise ValueError(f"an evaluator token has 1 to {TOKEN_BYTES} bytes, got {len(raw)}")
    return raw + bytes(TOKEN_BYTES - len(raw))


class ProtocolError(Exception):
    """A message that is not valid; ``reason`` is the label the learner counts it under."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class EnvironmentSpec:
    id: str
    observation_low: np.ndarray
    observation_high: np.ndarray
    action_low: np.ndarray
    action_high: np.ndarray
    reward_low: float
    reward_high: float
    max_episode_steps: int
    discrete_actions: int | None = None  # n of a Discrete(n) space (protocol 7): one action dimension in [0, n − 1]; None for a Box

    def __post_init__(self) -> None:
        for name in ("observation_low", "observation_high", "action_low", "action_high"):
            setattr(self, name, np.asarray(getattr(self, name), dtype="<f4"))
        self.reward_low = float(np.float32(self.reward_low))
        self.reward_high = float(np.float32(self.reward_high))

    @property
    def observation_size(self) -> int:
        return int(self.observation_low.size)

    @property
    def action_size(self) -> int:
        return int(self.action_low.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EnvironmentSpec):
            return NotImplemented
        def same(a: np.ndarray, b: np.ndarray) -> bool:  # bitwise: inf and -0.0 count
            return a.shape == b.shape and a.tobytes() == b.tobytes()

        return (self.id == other.id and same(self.observation_low, other.observation_low)
                and same(self.observation_high, other.observation_high) and same(self.action_low, other.action_low)
                and same(self.action_high, other.action_high) and self.max_episode_steps == other.max_episode_steps
                and np.float32(self.reward_low).tobytes() == np.float32(other.reward_low).tobytes()
                and np.float32(self.reward_high).tobytes() == np.float32(other.reward_high).tobytes()
                and self.discrete_actions == other.discrete_actions)


@dataclass
class Hello:
    worker_id: int
    session: int
    environment_count: int
    seed: int
    spec: EnvironmentSpec
    role: str = "actor"
    next_sequence: int = 0
    token: bytes = NO_TOKEN  # an evaluator's (protocol 6): 32 bytes, zeros for none


@dataclass
class Transitions:
    worker_id: int
    session: int
    sequence: int
    weights_version: int
    observations: np.ndarray  # (count, observation size) float32
    actions: np.ndarray  # (count, action size)
    rewards: np.ndarray  # (count,)
    discounts: np.ndarray  # (count,): γ^k for a k-step row, 0 after a termination
    next_observations: np.ndarray
    terminated: np.ndarray  # (count,) bool
    truncated: np.ndarray
    receipt: int = 0  # the newest acknowledgement's receipt this session has read (protocol 6); 0: none yet

    @property
    def count(self) -> int:
        return int(self.rewards.size)


@dataclass
class Segment:
    """An on-policy worker's steps (protocol 7): ``environments`` environments' ``steps`` steps each, acted with one
    weights version. Rows are environment-major: row e·steps + t is environment e's step t."""
    worker_id: int
    session: int
    sequence: int  # shared with transitions messages: the session's data-message counter
    weights_version: int
    steps: int
    observations: np.ndarray  # (rows, observation size) float32
    actions: np.ndarray  # (rows, action size): a Discrete space's index, or a Gaussian's draw before clipping
    rewards: np.ndarray  # (rows,)
    log_probabilities: np.ndarray  # (rows,): the behaviour policy's log-probability of each action
    bootstrap_observations: np.ndarray  # (environments, observation size): after each environment's last step
    truncation_observations: np.ndarray  # (truncations, observation size): the last observation of each step truncated, not terminated
    terminated: np.ndarray  # (rows,) bool
    truncated: np.ndarray
    receipt: int = 0

    @property
    def rows(self) -> int:
        return int(self.rewards.size)

    @property
    def environments(self) -> int:
        return self.rows // self.steps


@dataclass
class Gradient:
    """An A3C worker's gradient (protocol 7): of the actor–critic loss on one segment it acted, with respect to the
    policy's parameters then the value network's, at the weights version it was computed at, before any clipping."""
    worker_id: int
    session: int
    sequence: int  # shared with transitions and segments: the session's data-message counter
    weights_version: int
    rows: int  # env steps of the segment behind it
    policy: np.ndarray  # float32, laid out as the weights' parameters
    value: np.ndarray  # float32, laid out as the weights' value network
    receipt: int = 0
    # The worker's own account of its loss on that segment: for monitoring, never for the update.
    policy_loss: float = 0.0
    value_loss: float = 0.0
    entropy: float = 0.0
    explained_variance: float = 0.0


@dataclass
class EpisodeReport:
    worker_id: int
    session: int
    length: int
    episode_return: float
    weights_version: int


@dataclass
class WorkerStatus:
    worker_id: int
    session: int
    final: bool
    transitions_sent: int
    episodes: int
    messages_sent: int


@dataclass
class Publication:
    version: int
    updates: int
    env_steps: int


@dataclass
class EvaluationReport:
    worker_id: int
    session: int
    final: bool
    publication: Publication
    returns: list[float]
    lengths: list[int]
    nonce: int = 0  # the request's ticket's nonce (protocol 6)


@dataclass
class EvaluationRequest:
    mark: int
    episodes: int
    seed: int
    final: bool = False


@dataclass
class ObservationNormalization:
    mean: np.ndarray  # float32, one per observation dimension
    std: np.ndarray  # float32, positive
    clip: float

    def apply(self, observations: np.ndarray) -> np.ndarray:
        normalized: np.ndarray = np.clip((np.asarray(observations, dtype=np.float32) - self.mean) / self.std, -self.clip, self.clip)
        return normalized.astype(np.float32)


@dataclass
class Weights:
    publication: Publication
    learner_id: int
    published_at_ns: int
    layer_sizes: list[int]
    action_low: np.ndarray
    action_high: np.ndarray
    parameters: np.ndarray  # float32, layer by layer: weights (inputs × outputs, row-major), biases, gains and shifts; then statistics
    evaluation_request: EvaluationRequest | None = None
    normalization: str = "none"  # of the hidden layers: "none", "layer" or "batch"
    # "deterministic": tanh onto the bounds; "squashed_gaussian": mean and log-std per action, sampled; "categorical": one logit
    # per index of a Discrete space; "gaussian": mean and log σ per action, draws clipped to the bounds (protocol 7)
    head: str = "deterministic"
    hidden_activation: str = "relu"  # "relu", or "tanh" (protocol 7)
    # A3C's value network (protocol 7): its layer sizes (the observation size first, 1 last) and parameters, laid out as
    # the actor's with its hidden activation and a linear output; None from every other learner.
    value_layer_sizes: list[int] | None = None
    value_parameters: np.ndarray | None = None
    # Observation normalization (protocol 8): the actor sees clip((o - mean) / std, ±clip); None when it takes observations as they are.
    observation_normalization: ObservationNormalization | None = None

    @property
    def action_size(self) -> int:
        return 1 if self.head == "categorical" else self.layer_sizes[-1] // HEAD_OUTPUTS[self.head]


@dataclass
class EvaluationTicket:
    mark: int
    final: bool
    nonce: int


@dataclass
class Acknowledgement:
    """Addressed to one session's connection (protocol 6): what the learner consumed of it, its credit, and an evaluator's ticket."""
    learner_id: int
    worker_id: int
    session: int
    next_sequence: int
    credit: int
    ticket: EvaluationTicket | None = None
    receipt: int = 0  # random per acknowledgement: the session's transitions name the newest one read


@dataclass
class Announce:
    learner_id: int
    weights_version: int
    max_transitions_per_message: int = MAX_TRANSITIONS_PER_MESSAGE
    credit: int = 0


@dataclass
class Shutdown:
    pass


Message = Hello | Transitions | Segment | Gradient | EpisodeReport | WorkerStatus | EvaluationReport | Weights | Announce | Acknowledgement | Shutdown


def max_transitions_per_message(observation_size: int, action_size: int) -> int:
    """The most rows one transitions message may carry for these shapes (at most 256 KiB per message)."""
    row = 4 * (2 * observation_size + action_size + 2) + 2
    return max(1, min(MAX_TRANSITIONS_PER_MESSAGE, (MAX_WORKER_MESSAGE_BYTES - HEADER.size - 40) // row))


NORMALIZATIONS = {0: "none", 1: "layer", 2: "batch"}
#: The weights message's output-activation code: what the output layer means (protocol 5; 4 and 5 since 7).
HEADS = {2: "deterministic", 3: "squashed_gaussian", 4: "categorical", 5: "gaussian"}
#: Outputs per action dimension (a categorical head has one per index of its single dimension).
HEAD_OUTPUTS = {"deterministic": 1, "squashed_gaussian": 2, "gaussian": 2}
HIDDEN_ACTIVATIONS = {1: "relu", 2: "tanh"}


def parameter_count(layer_sizes: list[int], normalization: str = "none") -> int:
    """Dense weights and biases; γ and β of each normalized hidden layer; batch normalization's running means and variances."""
    hidden = sum(layer_sizes[1:-1])
    return (sum((i + 1) * o for i, o in pairwise(layer_sizes)) + (2 * hidden if normalization != "none" else 0)
            + (2 * hidden if normalization == "batch" else 0))


def segment_message_size(environments: int, steps: int, truncations: int, observation_size: int, action_size: int) -> int:
    rows = environments * steps
    return HEADER.size + 48 + 4 * (rows * (observation_size + action_size + 2) + (environments + truncations) * observation_size) + 2 * rows


def gradient_message_size(parameters: int) -> int:
    return HEADER.size + 64 + 4 * parameters
