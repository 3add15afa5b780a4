"""Helpers shared by the test suites and the benchmarks.

    netns       network namespaces, veth pairs, addresses and routes, removed together
    relay       a real magic-wormhole transit relay process
    session     in-process Sessions on loopback, and waiting for a condition
    plain_peer  a real `p2pchat --plain` process driven through stdin and stdout
    raw_peer    a hand-driven peer that speaks the wire protocol frame by frame
    flood       connection floods and chat round trips between plain peers
"""
