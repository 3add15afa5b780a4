"""No import cycles in p2pchat/, and the contracts that list modules by hand miss none."""

from __future__ import annotations

from pathlib import Path

import grimp
import tomlkit

ROOT = Path(__file__).resolve().parents[2]

# Cycles that other parts of the code base are being reshaped to break. Remove each entry once
# its cycle is gone; a new cycle anywhere else fails the test.
KNOWN_CYCLES = [
    {"p2pchat.session.batches", "p2pchat.session.transfer_job"},
]


def import_cycles(imports: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[set[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(sorted(imports[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(imports.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(component)
    return cycles


def p2pchat_imports() -> dict[str, set[str]]:
    graph = grimp.build_graph("p2pchat")  # TYPE_CHECKING imports count: they are dependencies too
    return {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}


def test_the_cycle_finder_finds_cycles():
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert import_cycles(imports) == [{"a", "b", "c"}]


def test_no_import_cycle_in_p2pchat():
    cycles = [cycle for cycle in import_cycles(p2pchat_imports()) if cycle not in KNOWN_CYCLES]
    assert cycles == [], f"import cycles: {cycles}"


def contract(name_start: str) -> dict:
    contracts = tomlkit.parse((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"].startswith(name_start))


def modules_under(*packages: str) -> set[str]:
    graph = grimp.build_graph("p2pchat")
    return {m for m in graph.modules if any(m == p or m.startswith(p + ".") for p in packages)}


def covered(module: str, listed: list[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in listed)


def test_every_part_of_the_session_and_reach_is_kept_from_the_service():
    listed = list(contract("The session's parts")["source_modules"])
    exempt = {"p2pchat.session", "p2pchat.session.service"}  # the facade and the service itself
    missing = sorted(m for m in modules_under("p2pchat.session", "p2pchat.reach") - exempt if not covered(m, listed))
    assert missing == [], f"add to the narrow-ports contract: {missing}"


def test_front_ends_are_kept_from_everything_but_the_session_api():
    forbidden = list(contract("Front ends see")["forbidden_modules"])
    allowed = {
        "p2pchat.session", "p2pchat.session.api", "p2pchat.session.events", "p2pchat.session.states",
        "p2pchat.reach", "p2pchat.reach.target", "p2pchat.reach.lan", "p2pchat.reach.lan_peer",
        "p2pchat.reach.invites",
    }
    missing = sorted(m for m in modules_under("p2pchat.session", "p2pchat.reach") - allowed if not covered(m, forbidden))
    assert missing == [], f"add to the front-end contract's forbidden modules: {missing}"
