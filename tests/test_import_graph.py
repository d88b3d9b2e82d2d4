"""The project's own modules import one another without loops, and the models sit below the
optimiser's analyses: a model module may use only the optimiser's foundation (errors, records,
schema, market, program, solver results), never an analysis that itself builds models.

The graph is read from the source (every ``import`` anywhere in a module, inside functions too:
a deferred import is still a loop, the kind ``run`` <-> ``baselines`` had)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("models", "optimiser")

#: what a model may import from ``optimiser``: modules that import no model themselves
MODEL_FOUNDATION = {
    "optimiser.errors", "optimiser.records", "optimiser.schema", "optimiser.market",
    "optimiser.program", "optimiser.outputs", "optimiser.solvers", "optimiser.solvers.base",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {"cli": ROOT / "cli.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _type_only(tree: ast.AST) -> set[ast.AST]:
    """Imports under ``if TYPE_CHECKING:``, which never run."""
    return {
        inner
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for statement in node.body
        for inner in ast.walk(statement)
    }


def _imported(tree: ast.AST, known: dict[str, Path]) -> set[str]:
    names: set[str] = set()
    skipped = _type_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` needs the module, not what the package's
            # __init__ gathers (a package importing its own modules is no loop)
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in known else node.module)
    return {name for name in names if name in known}


def import_graph() -> nx.DiGraph:
    known = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(known)
    for name, path in known.items():
        for target in _imported(ast.parse(path.read_text(), str(path)), known):
            if target != name:
                graph.add_edge(name, target)
    return graph


def test_the_graph_sees_the_imports_it_should():
    """Guards the reader itself: a graph without these edges would find no loop anywhere."""
    graph = import_graph()
    assert graph.has_edge("optimiser.run", "models.voices")
    assert graph.has_edge("models.voices", "models.plan")
    assert graph.has_edge("optimiser.baselines", "optimiser.solvers")
    assert graph.has_edge("cli", "optimiser.verify")
    assert len(graph) > 60


def test_no_module_imports_itself_through_others():
    graph = import_graph()
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], "import loops: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles)


def test_models_use_only_the_optimisers_foundation():
    graph = import_graph()
    reached = {
        (source, target)
        for source, target in graph.edges
        if source.startswith("models") and target.startswith("optimiser")
        and target not in MODEL_FOUNDATION
    }
    assert reached == set()
    foundation_to_models = {
        (source, target)
        for source in MODEL_FOUNDATION
        for target in nx.descendants(graph, source)
        if target.startswith("models")
    }
    assert foundation_to_models == set()


def test_test_tooling_is_not_shipped_in_the_product_packages():
    """The OR-Library reader and the big-M reference model serve tests and benchmarks only:
    they live in tests/ (not installed), so no product module can come to depend on them."""
    import importlib.util

    assert not {"optimiser.orlib", "models.reference", "optimiser.plan"} & set(import_graph())
    for name in ("optimiser.orlib", "models.reference"):
        assert importlib.util.find_spec(name) is None, name
    assert (ROOT / "tests" / "orlib.py").is_file()
    assert (ROOT / "tests" / "reference_model.py").is_file()
