"""p2pchat: a two-person, peer-to-peer terminal chat with file transfer over TLS."""

__version__ = "0.1.0"
