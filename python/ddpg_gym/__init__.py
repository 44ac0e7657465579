"""Python side of ddpg's wire protocol (docs/PROTOCOL.md)."""

from .wire import VERSION, ProtocolError, decode, encode

__all__ = ["VERSION", "ProtocolError", "decode", "encode"]
