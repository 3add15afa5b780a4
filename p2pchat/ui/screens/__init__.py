"""Modal screens: connect, incoming file offer, identity decisions, short-code check, help."""
