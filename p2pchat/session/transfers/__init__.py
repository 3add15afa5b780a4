"""File transfers: the protocol's rules in a sans-IO engine (`engine.py`), carried out on the
disk lanes and the live connection by an asyncio runner (`runner.py`)."""

from p2pchat.session.transfers.engine import (
    FINISHED_KEPT,
    MAX_OPEN_OFFERS,
    TOO_MANY_OFFERS,
    TransferEngine,
)
from p2pchat.session.transfers.runner import SEND_CHUNK, WRITE_BACKLOG, Transfers

__all__ = ["FINISHED_KEPT", "MAX_OPEN_OFFERS", "SEND_CHUNK", "TOO_MANY_OFFERS", "WRITE_BACKLOG", "TransferEngine", "Transfers"]
