"""A worker's two ZeroMQ sockets as its session's transport: a DEALER to the learner's transitions endpoint
(which also brings what the learner addresses to this worker alone), and a SUB to everything it publishes."""

from __future__ import annotations

import os

import zmq

from .config import WorkerConfig


class ZmqTransport:
    def __init__(self, config: WorkerConfig) -> None:
        self.context = zmq.Context()
        self.push = self.context.socket(zmq.DEALER)
        # The learner binds this worker's session to its connection's routing id: a random one of its own
        # (told to no one) stays the same across reconnects; libzmq keeps ids starting with a zero byte.
        self.push.setsockopt(zmq.ROUTING_ID, bytes([1 + os.urandom(1)[0] % 255]) + os.urandom(6))
        self.push.setsockopt(zmq.RCVHWM, 64)
        self.push.setsockopt(zmq.MAXMSGSIZE, 1 << 16)
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
        """What the learner addressed to this worker first (acknowledgements), then what it published."""
        for socket in (self.push, self.sub):
            if socket.poll(0):
                try:
                    return bytes(socket.recv(zmq.NOBLOCK))
                except zmq.Again:
                    continue
        return None

    def wait(self, seconds: float, sending: bool) -> None:
        poller = zmq.Poller()
        poller.register(self.sub, zmq.POLLIN)
        poller.register(self.push, zmq.POLLIN | (zmq.POLLOUT if sending else 0))
        poller.poll(round(max(seconds, 0) * 1_000))

    def close(self) -> None:
        self.push.close()
        self.sub.close()
        self.context.term()
