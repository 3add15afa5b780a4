"""Finding a peer: dial targets, invites, LAN peers, port mapping, the race, relay waiting, codes."""
