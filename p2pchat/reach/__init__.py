"""Finding a peer: dial targets, invites, LAN peers, port mapping, the race over every path,
and waiting on relays. Below the session, above the network: nothing here imports `session`."""
