"""A worker's two ZeroMQ sockets as its session's transport: a PUSH to the learner's transitions endpoint,
and a SUB to everything it publishes."""

from __future__ import annotations

import zmq

from .config import WorkerConfig


class ZmqTransport:
    def __init__(self, config: WorkerConfig) -> None:
        self.context = zmq.Context()
        self.push = self.context.socket(zmq.PUSH)
        # Everything queued was acted with weights that are getting older: the learner's credit bounds it,
        # and ZeroMQ's queue holds one message more. Queue only to a live connection, so that a send waits
        # for the learner instead of piling up. (A kernel buffer smaller than a message stalls loopback TCP.)
        self.push.setsockopt(zmq.SNDHWM, 1)
        self.push.setsockopt(zmq.SNDBUF, 64 << 10)
        self.push.setsockopt(zmq.IMMEDIATE, 1)
        self.push.setsockopt(zmq.LINGER, 2_000)
        self.sub = self.context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 16)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.MAXMSGSIZE, 64 << 20)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        for s in (self.push, self.sub):
            s.setsockopt(zmq.IPV6, 1)
            s.setsockopt(zmq.RECONNECT_IVL, 2)
            s.setsockopt(zmq.RECONNECT_IVL_MAX, 500)
            if config.curve_secret_key:
                s.curve_secretkey = config.curve_secret_key.encode()
                s.curve_publickey = zmq.curve_public(config.curve_secret_key.encode())
                s.curve_serverkey = (config.learner_public_key or "").encode()
        self.push.connect(config.endpoint(config.transitions_port))
        self.sub.connect(config.endpoint(config.weights_port))

    def send(self, data: bytes) -> bool:
        try:
            self.push.send(data, zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def receive(self) -> bytes | None:
        if not self.sub.poll(0):
            return None
        try:
            return bytes(self.sub.recv(zmq.NOBLOCK))
        except zmq.Again:
            return None

    def wait(self, seconds: float, sending: bool) -> None:
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        if sending:
            poller.register(self.push, zmq.POLLOUT)
        poller.poll(round(max(seconds, 0) * 1_000))

    def close(self) -> None:
        self.push.close()
        self.sub.close()
        self.context.term()
