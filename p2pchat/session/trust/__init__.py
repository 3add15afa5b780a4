"""Whether we talk to a peer: a pure policy (`policy.decide`) and the asyncio part that asks
the user and remembers the answer (`prompts.Trust`)."""

from p2pchat.session.trust.policy import Accept, Ask, Refuse, decide
from p2pchat.session.trust.prompts import PROMPT_TIMEOUT, Trust

__all__ = ["PROMPT_TIMEOUT", "Accept", "Ask", "Refuse", "Trust", "decide"]
