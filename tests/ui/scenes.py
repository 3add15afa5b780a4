"""Fixed app states for the snapshot tests (a fake session, so every pixel is deterministic).

Each scene is (harness options, async setup(pilot, harness)); nothing depends on the
real clock, the local time zone (callers set TZ=UTC) or a blinking cursor.
"""

from __future__ import annotations

from fake_session import BOB, FIXED_TIME

from p2pchat.session.events import (
    ChatMessage,
    IdentityPrompt,
    Listening,
    MessageDelivered,
    MessageReceived,
    RttMeasured,
    TransferInfo,
    TransferUpdated,
)

SIZE = (100, 30)


async def connect_scene(pilot, harness) -> None:
    await pilot.pause()


async def chat_scene(pilot, harness) -> None:
    await pilot.pause()
    fake = harness.fake
    fake.emit(Listening("::", 8080))
    fake.connect_bob()
    fake._rtt_ms = 3.2
    fake.emit(RttMeasured(3.2))
    lines = [
        ("bob", "hi alice! did you get the photos from the trip?"),
        ("alice", "not yet, send them over"),
        ("bob", "sending the big one first, it's a video"),
        (
            "alice",
            "great. "
            + "This line is long enough to wrap onto a second line so the log shows how wrapping looks. "
            * 1,
        ),
    ]
    for number, (sender, body) in enumerate(lines):
        if sender == "alice":
            fake.send_text(body)
        else:
            fake.emit(MessageReceived(ChatMessage(f"p{number}", sender, body, FIXED_TIME, False)))
    fake.emit(MessageDelivered("m1"))
    fake.emit(
        TransferUpdated(
            TransferInfo(
                1,
                "trip-video.mp4",
                734_003_200,
                "receive",
                "active",
                done=301_989_888,
                speed=41_943_040,
                eta=10.3,
            )
        )
    )
    fake.emit(TransferUpdated(TransferInfo(2, "notes.txt", 12_000, "send", "waiting")))
    await pilot.pause()


async def identity_warning_scene(pilot, harness) -> None:
    await pilot.pause()
    harness.fake.emit(
        IdentityPrompt(BOB, "changed", expected_fingerprint="KRUGS4ZANFZSAYJAORSXG5BAMZUW4ZZA")
    )
    await pilot.pause()


async def help_scene(pilot, harness) -> None:
    await pilot.pause()
    await pilot.press("f1")
    await pilot.pause()


SCENES = {
    "connect": ({"show_connect_screen": True}, connect_scene),
    "chat": ({}, chat_scene),
    "identity-warning": ({}, identity_warning_scene),
    "help": ({}, help_scene),
}
