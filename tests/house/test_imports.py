"""The import graph of harness/ and benchmarks/ has no cycle, no arrow from a lower layer
to a higher one (DESIGN.md's picture), and no module imports another module's private name. Every import
statement counts: top level, inside functions and under TYPE_CHECKING.
An arrow runs to the module a statement names (`from pkg import sub` names `pkg.sub` when that is a
module); Python's implicit initialisation of parent packages is not an arrow."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("harness", "benchmarks")
# DESIGN.md's layers, lowest first: a module may import its own layer and the ones below, never above.
LAYERS = (
    ("harness.errors", "harness.jsonio"),
    ("harness.adapters", "harness.tasks"),
    ("harness.eval",),
    ("harness.clip", "harness.report", "harness.interop"),
    ("harness.toy", "harness.tune", "harness.sweep"),
    ("harness.demo",),
    ("harness.cli",),
    ("benchmarks",),
)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import statement in the file."""
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:
                    out.append((sub, [], node.lineno))
                else:
                    out.append((base, [alias.name], node.lineno))
    return [(m, names, line) for m, names, line in out if m in modules]


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    modules = _modules()
    graph, private = {}, []
    for name, path in modules.items():
        graph[name] = set()
        for target, names, line in _imports(name, path, modules):
            if target != name:
                graph[name].add(target)
            private += [f"{path.relative_to(ROOT)}:{line} imports {target}.{n}" for n in names if n.startswith("_")]
    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_walk_sees_nested_and_relative_imports():
    graph, _ = _graph()
    assert "harness.eval.plan" in graph["harness.eval.runner"]  # top level
    assert "harness.eval.runner" in graph["harness.cli.evaluate"]  # inside a function
    assert "harness.adapters.checkpoints.kinds" in graph["harness.adapters.checkpoints.registry"]  # relative


def test_a_cycle_is_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert _cycles(_graph()[0]) == []


def _layer(module: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} is in no layer of LAYERS; place it there and in DESIGN.md")


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets if _layer(b) > _layer(a))


def test_an_upward_arrow_is_found():
    assert _upward({"harness.tasks.x": {"harness.eval.engine"}, "harness.cli.a": {"harness.tasks.x"}}) == [
        "harness.tasks.x -> harness.eval.engine"
    ]


def test_no_arrow_runs_back_up():
    assert _upward(_graph()[0]) == []


def test_no_module_imports_a_private_name():
    assert _graph()[1] == []
