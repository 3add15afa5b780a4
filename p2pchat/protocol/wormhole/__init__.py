"""Meeting with a short code over magic-wormhole's rendezvous protocol, without I/O."""
