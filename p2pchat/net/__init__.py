"""asyncio networking: TLS contexts, listener and dialer, the framed connection."""
