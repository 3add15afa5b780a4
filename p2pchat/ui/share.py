"""What the app says about copying: the address to give your peer is `display.own_address`."""

from __future__ import annotations

# Said after the app copies something: OSC 52 asks the terminal, which may not do it (tmux
# without set-clipboard), and nothing tells the app whether it did.
SENT_TO_CLIPBOARD = "sent to the terminal's clipboard (OSC 52)"
