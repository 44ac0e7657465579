"""The ddpg wire protocol, version 8 (docs/PROTOCOL.md): every message kind (``messages``), encoded and decoded.

Pure: no sockets. Every message is one frame: a 12-byte header (magic "DDPG", version, kind,
flags, body length), then a little-endian body. ``decode`` checks the header, the body length and
every length and reserved field it reads, and raises ``ProtocolError`` with the same reason labels
as the Swift decoder; value bounds against an environment are the learner's to check. The message
types are re-exported here, so that ``wire.Weights`` and ``wire.decode`` read side by side.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from .messages import (
    ACKNOWLEDGEMENT,
    ANNOUNCE,
    EPISODE,
    EVALUATION,
    GRADIENT,
    HEAD_OUTPUTS,
    HEADER,
    HEADS,
    HELLO,
    HIDDEN_ACTIVATIONS,
    MAGIC,
    MAX_DIMENSION,
    MAX_DISCRETE_ACTIONS,
    MAX_EVALUATION_EPISODES,
    MAX_ID_LENGTH,
    MAX_TRANSITIONS_PER_MESSAGE,
    MAX_WORKER_MESSAGE_BYTES,
    NO_TOKEN,
    NORMALIZATIONS,
    ROLES,
    SEGMENT,
    SHUTDOWN,
    TOKEN_BYTES,
    TRANSITIONS,
    VERSION,
    WEIGHTS,
    WORKER_STATUS,
    Acknowledgement,
    Announce,
    EnvironmentSpec,
    EpisodeReport,
    EvaluationReport,
    EvaluationRequest,
    EvaluationTicket,
    Gradient,
    Hello,
    Message,
    ObservationNormalization,
    ProtocolError,
    Publication,
    Segment,
    Shutdown,
    Transitions,
    Weights,
    WorkerStatus,
    evaluator_token,
    gradient_message_size,
    max_transitions_per_message,
    parameter_count,
    segment_message_size,
)

__all__ = [
    "ACKNOWLEDGEMENT",
    "ANNOUNCE",
    "EPISODE",
    "EVALUATION",
    "GRADIENT",
    "HEADER",
    "HEADS",
    "HEAD_OUTPUTS",
    "HELLO",
    "HIDDEN_ACTIVATIONS",
    "MAGIC",
    "MAX_DIMENSION",
    "MAX_DISCRETE_ACTIONS",
    "MAX_EVALUATION_EPISODES",
    "MAX_ID_LENGTH",
    "MAX_TRANSITIONS_PER_MESSAGE",
    "MAX_WORKER_MESSAGE_BYTES",
    "NORMALIZATIONS",
    "NO_TOKEN",
    "ROLES",
    "SEGMENT",
    "SHUTDOWN",
    "TOKEN_BYTES",
    "TRANSITIONS",
    "VERSION",
    "WEIGHTS",
    "WORKER_STATUS",
    "Acknowledgement",
    "Announce",
    "EnvironmentSpec",
    "EpisodeReport",
    "EvaluationReport",
    "EvaluationRequest",
    "EvaluationTicket",
    "Gradient",
    "Hello",
    "Message",
    "ObservationNormalization",
    "ProtocolError",
    "Publication",
    "Segment",
    "Shutdown",
    "Transitions",
    "Weights",
    "WorkerStatus",
    "decode",
    "encode",
    "evaluator_token",
    "gradient_message_size",
    "max_transitions_per_message",
    "parameter_count",
    "segment_message_size",
]

def _frame(kind: int, body: bytes) -> bytes:
    return HEADER.pack(MAGIC, VERSION, kind, 0, len(body)) + body


def _f32(values: np.ndarray) -> bytes:
    return np.ascontiguousarray(values, dtype="<f4").tobytes()


def encode(message: Message) -> bytes:
    """The frame of one message."""
    if isinstance(message, Hello):
        spec = message.spec
        name = spec.id.encode()[:MAX_ID_LENGTH]
        role = {v: k for k, v in ROLES.items()}[message.role]
        body = struct.pack("<IIHHHBBQQIffHH", message.worker_id, message.session, spec.observation_size, spec.action_size,
                           message.environment_count, role, 0, message.seed, message.next_sequence, spec.max_episode_steps,
                           spec.reward_low, spec.reward_high, len(name), spec.discrete_actions or 0)
        if len(message.token) != TOKEN_BYTES:
            raise ValueError(f"a hello's token has {TOKEN_BYTES} bytes, got {len(message.token)}")
        body += message.token
        body += _f32(spec.observation_low) + _f32(spec.observation_high) + _f32(spec.action_low) + _f32(spec.action_high) + name
        return _frame(HELLO, body)
    if isinstance(message, Transitions):
        n = message.count
        observations = np.asarray(message.observations, dtype="<f4").reshape(n, -1)
        actions = np.asarray(message.actions, dtype="<f4").reshape(n, -1)
        body = struct.pack("<IIHHQQIQ", message.worker_id, message.session, observations.shape[1], actions.shape[1], message.sequence,
                           message.weights_version, n, message.receipt)
        body += _f32(observations) + _f32(actions) + _f32(message.rewards) + _f32(message.discounts) + _f32(message.next_observations)
        body += np.asarray(message.terminated, dtype=np.uint8).tobytes() + np.asarray(message.truncated, dtype=np.uint8).tobytes()
        return _frame(TRANSITIONS, body)
    if isinstance(message, Segment):
        n = message.rows
        observations = np.asarray(message.observations, dtype="<f4").reshape(n, -1)
        actions = np.asarray(message.actions, dtype="<f4").reshape(n, -1)
        truncations = np.asarray(message.truncation_observations, dtype="<f4").reshape(-1, observations.shape[1])
        body = struct.pack("<IIHHHHQQIIQ", message.worker_id, message.session, observations.shape[1], actions.shape[1],
                           message.environments, message.steps, message.sequence, message.weights_version, truncations.shape[0], 0,
                           message.receipt)
        body += (_f32(observations) + _f32(actions) + _f32(message.rewards) + _f32(message.log_probabilities)
                 + _f32(message.bootstrap_observations) + _f32(truncations))
        body += np.asarray(message.terminated, dtype=np.uint8).tobytes() + np.asarray(message.truncated, dtype=np.uint8).tobytes()
        return _frame(SEGMENT, body)
    if isinstance(message, Gradient):
        policy, value = np.asarray(message.policy, dtype="<f4").ravel(), np.asarray(message.value, dtype="<f4").ravel()
        body = struct.pack("<IIQQIIIIQ", message.worker_id, message.session, message.sequence, message.weights_version, message.rows,
                           policy.size, value.size, 0, message.receipt)
        # Through numpy, not struct: a statistic beyond float32's range becomes infinity (which the learner rejects), not an error here.
        with np.errstate(over="ignore"):
            statistics = _f32(np.array([message.policy_loss, message.value_loss, message.entropy, message.explained_variance]))
        return _frame(GRADIENT, body + statistics + _f32(policy) + _f32(value))
    if isinstance(message, EpisodeReport):
        return _frame(EPISODE, struct.pack("<IIIIdQ", message.worker_id, message.session, message.length, 0, message.episode_return,
                                           message.weights_version))
    if isinstance(message, WorkerStatus):
        return _frame(WORKER_STATUS, struct.pack("<IIBBHQQQ", message.worker_id, message.session, int(message.final), 0, 0,
                                                 message.transitions_sent, message.episodes, message.messages_sent))
    if isinstance(message, EvaluationReport):
        p = message.publication
        body = struct.pack("<IIBBHIQQQQ", message.worker_id, message.session, int(message.final), 0, len(message.returns), 0,
                           message.nonce, p.version, p.updates, p.env_steps)
        body += struct.pack(f"<{len(message.returns)}d", *message.returns) + struct.pack(f"<{len(message.lengths)}I", *message.lengths)
        return _frame(EVALUATION, body)
    if isinstance(message, Weights):
        p, r = message.publication, message.evaluation_request
        carries_value, scaling = message.value_layer_sizes is not None, message.observation_normalization
        body = struct.pack("<QQQQQQQHBBBBH", p.version, message.learner_id, message.published_at_ns, p.updates, p.env_steps,
                           r.mark if r else 0, r.seed if r else 0, r.episodes if r else 0,
                           (int(r.final) if r else 0) | (2 if carries_value else 0) | (4 if scaling else 0),
                           {v: k for k, v in HIDDEN_ACTIVATIONS.items()}[message.hidden_activation],
                           {v: k for k, v in HEADS.items()}[message.head],
                           {v: k for k, v in NORMALIZATIONS.items()}[message.normalization],
                           len(message.layer_sizes) - 1)
        body += struct.pack(f"<{len(message.layer_sizes)}I", *message.layer_sizes)
        body += _f32(message.action_low) + _f32(message.action_high)
        body += struct.pack("<I", message.parameters.size) + _f32(message.parameters)
        if scaling:
            body += struct.pack("<f", scaling.clip) + _f32(scaling.mean) + _f32(scaling.std)
        if message.value_layer_sizes is not None:
            value = np.asarray(message.value_parameters, dtype="<f4").ravel()
            body += struct.pack(f"<HH{len(message.value_layer_sizes)}II", len(message.value_layer_sizes) - 1, 0, *message.value_layer_sizes,
                                value.size) + _f32(value)
        return _frame(WEIGHTS, body)
    if isinstance(message, Announce):
        return _frame(ANNOUNCE, struct.pack("<QQII", message.learner_id, message.weights_version, message.max_transitions_per_message,
                                            message.credit))
    if isinstance(message, Acknowledgement):
        t = message.ticket
        flags = 0 if t is None else (3 if t.final else 1)
        return _frame(ACKNOWLEDGEMENT, struct.pack("<QIIQIIQQQ", message.learner_id, message.worker_id, message.session,
                                                   message.next_sequence, message.credit, flags, t.mark if t else 0, t.nonce if t else 0,
                                                   message.receipt))
    if isinstance(message, Shutdown):
        return _frame(SHUTDOWN, struct.pack("<I", 0))
    raise TypeError(f"not a ddpg message: {type(message).__name__}")


class _Reader:
    def __init__(self, data: bytes, offset: int) -> None:
        self.data, self.offset = data, offset

    def take(self, fmt: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise ProtocolError("length_mismatch", f"message ends inside a {size}-byte field at offset {self.offset}")
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return values

    def floats(self, count: int) -> np.ndarray:
        end = self.offset + 4 * count
        if end > len(self.data):
            raise ProtocolError("length_mismatch", f"message ends inside {count} floats at offset {self.offset}")
        values: np.ndarray = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.offset).copy()
        self.offset = end
        return values


def _expect_body(data: bytes, body: int, what: str) -> None:
    if len(data) - HEADER.size != body:
        raise ProtocolError("length_mismatch", f"{what}: expected {body} bytes, got {len(data) - HEADER.size}")


def _session(value: int) -> int:
    if value == 0:
        raise ProtocolError("out_of_range", "session out of range: 0")
    return value


def decode(data: bytes) -> Message:
    """Decodes one frame, checking its header, lengths and reserved fields."""
    data = bytes(data)
    if len(data) < HEADER.size:
        raise ProtocolError("too_short", f"message too short: {len(data)} bytes, need at least {HEADER.size}")
    magic, version, kind, flags, length = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ProtocolError("bad_magic", "bad magic: not a ddpg message")
    if version != VERSION:
        raise ProtocolError("unsupported_version", f"unsupported protocol version {version}: this package speaks version {VERSION} only")
    if flags != 0:
        raise ProtocolError("reserved_bits", "reserved field header flags is not zero")
    if length != len(data) - HEADER.size:
        raise ProtocolError("length_mismatch", f"body length: expected {length} bytes, got {len(data) - HEADER.size}")
    r = _Reader(data, HEADER.size)
    if kind == HELLO:
        (worker, session, o, a, environments, role, reserved, seed, next_sequence, limit, reward_low, reward_high, id_length,
         discrete) = r.take("<IIHHHBBQQIffHH")
        if reserved:
            raise ProtocolError("reserved_bits", "reserved field hello reserved is not zero")
        if role not in ROLES:
            raise ProtocolError("out_of_range", f"role out of range: {role}")
        if not (1 <= o <= MAX_DIMENSION and 1 <= a <= MAX_DIMENSION and id_length <= MAX_ID_LENGTH):
            raise ProtocolError("out_of_range", f"hello sizes out of range: {o}, {a}, id {id_length}")
        _expect_body(data, 80 + 8 * (o + a) + id_length, "hello")
        token = data[r.offset:r.offset + TOKEN_BYTES]
        r.offset += TOKEN_BYTES
        if ROLES[role] != "evaluator" and token != NO_TOKEN:
            raise ProtocolError("reserved_bits", "reserved field an actor's evaluator token is not zero")
        low, high, action_low, action_high = r.floats(o), r.floats(o), r.floats(a), r.floats(a)
        try:
            name = data[r.offset:r.offset + id_length].decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("out_of_range", "environment id out of range: invalid UTF-8") from None
        if environments < 1:
            raise ProtocolError("out_of_range", "environment count out of range: 0")
        spec = EnvironmentSpec(name, low, high, action_low, action_high, reward_low, reward_high, limit, discrete or None)
        return Hello(worker, _session(session), environments, seed, spec, ROLES[role], next_sequence, token)
    if kind == TRANSITIONS:
        worker, session, o, a, sequence, version_, count, receipt = r.take("<IIHHQQIQ")
        if not 1 <= count <= MAX_TRANSITIONS_PER_MESSAGE:
            raise ProtocolError("out_of_range", f"count out of range: {count}")
        _expect_body(data, 40 + count * (4 * (2 * o + a + 2) + 2), "transitions")
        observations, actions = r.floats(count * o).reshape(count, o), r.floats(count * a).reshape(count, a)
        rewards, discounts, next_observations = r.floats(count), r.floats(count), r.floats(count * o).reshape(count, o)
        flags_ = np.frombuffer(data, dtype=np.uint8, count=2 * count, offset=r.offset)
        if (flags_ > 1).any():
            raise ProtocolError("out_of_range", "terminated or truncated out of range")
        if not (np.isfinite(discounts) & (discounts >= 0) & (discounts <= 1)).all():
            raise ProtocolError("out_of_range", "discount out of range: not in [0, 1]")
        return Transitions(worker, _session(session), sequence, version_, observations, actions, rewards, discounts, next_observations,
                           flags_[:count].astype(bool), flags_[count:].astype(bool), receipt)
    if kind == SEGMENT:
        worker, session, o, a, environments, steps, sequence, version_, truncations, reserved, receipt = r.take("<IIHHHHQQIIQ")
        if reserved:
            raise ProtocolError("reserved_bits", "reserved field segment reserved is not zero")
        rows = environments * steps
        if not (environments >= 1 and steps >= 1 and rows <= MAX_TRANSITIONS_PER_MESSAGE and truncations <= rows):
            raise ProtocolError("out_of_range", f"segment rows out of range: {environments} × {steps}, {truncations} truncations")
        _expect_body(data, segment_message_size(environments, steps, truncations, o, a) - HEADER.size, "segment")
        observations, actions = r.floats(rows * o).reshape(rows, o), r.floats(rows * a).reshape(rows, a)
        rewards, log_probabilities = r.floats(rows), r.floats(rows)
        bootstrap, cut = r.floats(environments * o).reshape(environments, o), r.floats(truncations * o).reshape(truncations, o)
        flags_ = np.frombuffer(data, dtype=np.uint8, count=2 * rows, offset=r.offset)
        if (flags_ > 1).any():
            raise ProtocolError("out_of_range", "terminated or truncated out of range")
        terminated, truncated = flags_[:rows].astype(bool), flags_[rows:].astype(bool)
        if int((truncated & ~terminated).sum()) != truncations:
            raise ProtocolError("length_mismatch", f"truncation observations: expected {int((truncated & ~terminated).sum())}, got {truncations}")
        return Segment(worker, _session(session), sequence, version_, steps, observations, actions, rewards, log_probabilities, bootstrap,
                       cut, terminated, truncated, receipt)
    if kind == GRADIENT:
        (worker, session, sequence, version_, rows, policy_count, value_count, reserved, receipt, policy_loss, value_loss, entropy,
         explained) = r.take("<IIQQIIIIQffff")
        if reserved:
            raise ProtocolError("reserved_bits", "reserved field gradient reserved is not zero")
        if not 1 <= rows <= MAX_TRANSITIONS_PER_MESSAGE:
            raise ProtocolError("out_of_range", f"rows out of range: {rows}")
        _expect_body(data, gradient_message_size(policy_count + value_count) - HEADER.size, "gradient")
        if not all(math.isfinite(x) for x in (policy_loss, value_loss, entropy, explained)):
            raise ProtocolError("non_finite", "gradient statistics contains NaN or infinity")
        policy, value = r.floats(policy_count), r.floats(value_count)
        if not (np.isfinite(policy).all() and np.isfinite(value).all()):
            raise ProtocolError("non_finite", "gradient values contains NaN or infinity")
        return Gradient(worker, _session(session), sequence, version_, rows, policy, value, receipt, policy_loss, value_loss, entropy,
                        explained)
    if kind == EPISODE:
        _expect_body(data, 32, "episode")
        worker, session, length_, reserved, value, version_ = r.take("<IIIIdQ")
        if reserved:
            raise ProtocolError("reserved_bits", "reserved field episode reserved is not zero")
        return EpisodeReport(worker, _session(session), length_, value, version_)
    if kind == WORKER_STATUS:
        _expect_body(data, 36, "worker status")
        worker, session, final, reserved, reserved2, sent, episodes, messages = r.take("<IIBBHQQQ")
        if final > 1 or reserved or reserved2:
            raise ProtocolError("reserved_bits", "reserved field worker status flags is not zero")
        return WorkerStatus(worker, _session(session), bool(final), sent, episodes, messages)
    if kind == EVALUATION:
        worker, session, final, reserved, count, reserved2, nonce, version_, updates, env_steps = r.take("<IIBBHIQQQQ")
        if final > 1 or reserved or reserved2:
            raise ProtocolError("reserved_bits", "reserved field evaluation flags is not zero")
        if not 1 <= count <= MAX_EVALUATION_EPISODES:
            raise ProtocolError("out_of_range", f"episode count out of range: {count}")
        _expect_body(data, 48 + 12 * count, "evaluation")
        returns = list(r.take(f"<{count}d"))
        lengths = list(r.take(f"<{count}I"))
        if not all(math.isfinite(v) for v in returns):
            raise ProtocolError("non_finite", "evaluation return contains NaN or infinity")
        return EvaluationReport(worker, _session(session), bool(final), Publication(version_, updates, env_steps), returns, lengths, nonce)
    if kind == WEIGHTS:
        (version_, learner, published, updates, env_steps, mark, seed, episodes, final, hidden, output, normalization_code,
         layers) = r.take("<QQQQQQQHBBBBH")
        if final > 7:
            raise ProtocolError("reserved_bits", "reserved field evaluation flags is not zero")
        carries_value, carries_scaling, final = bool(final & 2), bool(final & 4), final & 1
        if normalization_code not in NORMALIZATIONS:
            raise ProtocolError("out_of_range", f"normalization out of range: {normalization_code} (0 none, 1 layer, 2 batch)")
        normalization = NORMALIZATIONS[normalization_code]
        if hidden not in HIDDEN_ACTIVATIONS:
            raise ProtocolError("out_of_range", f"hidden activation out of range: {hidden} (1 ReLU, 2 tanh)")
        if output not in HEADS:
            raise ProtocolError("out_of_range", f"output activation out of range: {output} (2 tanh, 3 squashed Gaussian, 4 categorical, 5 Gaussian)")
        head = HEADS[output]
        if not 1 <= layers <= 16:
            raise ProtocolError("out_of_range", f"layer count out of range: {layers}")
        sizes = list(r.take(f"<{layers + 1}I"))
        if not all(1 <= s <= 4096 for s in sizes):
            raise ProtocolError("out_of_range", f"layer size out of range: {sizes}")
        if head == "categorical":
            action_size = 1
        elif sizes[-1] % HEAD_OUTPUTS[head]:
            raise ProtocolError("out_of_range", f"output layer out of range: {sizes[-1]} outputs for {HEAD_OUTPUTS[head]} per action")
        else:
            action_size = sizes[-1] // HEAD_OUTPUTS[head]
        action_low, action_high = r.floats(action_size), r.floats(action_size)
        (count,) = r.take("<I")
        if count != parameter_count(sizes, normalization):
            raise ProtocolError("dimension_mismatch", f"parameter count: expected {parameter_count(sizes, normalization)}, got {count}")
        actor_body = 64 + 4 * len(sizes) + 8 * action_size + 4 + 4 * count + (4 + 8 * sizes[0] if carries_scaling else 0)
        if not carries_value:
            _expect_body(data, actor_body, "weights")
        parameters = r.floats(count)
        if not np.isfinite(parameters).all():
            raise ProtocolError("non_finite", "parameters contains NaN or infinity")
        scaling: ObservationNormalization | None = None
        if carries_scaling:
            (clip,) = r.take("<f")
            if not (math.isfinite(clip) and clip > 0):
                raise ProtocolError("out_of_range", f"observation clip out of range: {clip}")
            mean, std = r.floats(sizes[0]), r.floats(sizes[0])
            if not np.isfinite(mean).all():
                raise ProtocolError("non_finite", "observation mean contains NaN or infinity")
            if not (np.isfinite(std).all() and (std > 0).all()):
                raise ProtocolError("out_of_range", "observation σ out of range: each must be positive and finite")
            scaling = ObservationNormalization(mean, std, clip)
        value_sizes: list[int] | None = None
        value_parameters: np.ndarray | None = None
        if carries_value:
            value_layers, value_reserved = r.take("<HH")
            if value_reserved:
                raise ProtocolError("reserved_bits", "reserved field value network reserved is not zero")
            if not 1 <= value_layers <= 16:
                raise ProtocolError("out_of_range", f"value layer count out of range: {value_layers}")
            value_sizes = list(r.take(f"<{value_layers + 1}I"))
            if not all(1 <= s <= 4096 for s in value_sizes):
                raise ProtocolError("out_of_range", f"value layer size out of range: {value_sizes}")
            if value_sizes[0] != sizes[0] or value_sizes[-1] != 1:
                raise ProtocolError("dimension_mismatch", f"value network: {value_sizes} does not map {sizes[0]} observations to one value")
            (value_count,) = r.take("<I")
            if value_count != parameter_count(value_sizes):
                raise ProtocolError("dimension_mismatch", f"value parameter count: expected {parameter_count(value_sizes)}, got {value_count}")
            _expect_body(data, actor_body + 4 + 4 * len(value_sizes) + 4 + 4 * value_count, "weights")
            value_parameters = r.floats(value_count)
            if not np.isfinite(value_parameters).all():
                raise ProtocolError("non_finite", "value parameters contains NaN or infinity")
        if normalization == "batch":
            statistics = parameters[parameter_count(sizes, "layer"):]
            offset = 0
            for width in sizes[1:-1]:
                if (statistics[offset + width:offset + 2 * width] < 0).any():
                    raise ProtocolError("out_of_range", "running variance out of range: negative")
                offset += 2 * width
        if episodes > MAX_EVALUATION_EPISODES:
            raise ProtocolError("out_of_range", f"evaluation episodes out of range: {episodes}")
        if episodes == 0 and (mark or seed or final):
            raise ProtocolError("reserved_bits", "reserved field evaluation request without episodes is not zero")
        request = EvaluationRequest(mark, episodes, seed, bool(final)) if episodes > 0 else None
        return Weights(Publication(version_, updates, env_steps), learner, published, sizes, action_low, action_high, parameters, request,
                       normalization, head, HIDDEN_ACTIVATIONS[hidden], value_sizes, value_parameters, scaling)
    if kind == ANNOUNCE:
        _expect_body(data, 24, "announce")
        learner, version_, max_count, credit = r.take("<QQII")
        if max_count < 1:
            raise ProtocolError("out_of_range", "max transitions per message out of range: 0")
        return Announce(learner, version_, max_count, credit)
    if kind == ACKNOWLEDGEMENT:
        _expect_body(data, 56, "acknowledgement")
        learner, worker, session, next_sequence, credit, flags, mark, nonce, receipt = r.take("<QIIQIIQQQ")
        if flags not in (0, 1, 3) or (flags == 0 and (mark or nonce)):
            raise ProtocolError("reserved_bits", "reserved field ticket flags is not zero")
        ticket = EvaluationTicket(mark, flags == 3, nonce) if flags else None
        return Acknowledgement(learner, worker, _session(session), next_sequence, credit, ticket, receipt)
    if kind == SHUTDOWN:
        _expect_body(data, 4, "shutdown")
        if r.take("<I")[0] != 0:
            raise ProtocolError("reserved_bits", "reserved field shutdown reserved is not zero")
        return Shutdown()
    raise ProtocolError("unknown_kind", f"unknown message kind {kind}")
