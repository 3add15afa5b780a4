"""Finding a peer: dial targets, invites, LAN peers, port mapping, the race over every path,
waiting on relays, and short codes through a mailbox server. Below the session, above the
network: nothing here imports `session`."""
