"""ddpg workers for gymnasium environments, and the wire protocol they speak (docs/PROTOCOL.md).

`ddpg_gym.wire` is the codec (pure, no sockets); `ddpg_gym.worker.GymWorker` the worker process;
`ddpg-gym-worker` (`ddpg_gym.cli`) its command line.
"""

from .wire import VERSION, ProtocolError, decode, encode

__all__ = ["VERSION", "ProtocolError", "decode", "encode"]
