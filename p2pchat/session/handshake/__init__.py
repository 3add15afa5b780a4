"""The handshake: its rules without I/O (`machine`) and the I/O that carries them out (`greeting`)."""
