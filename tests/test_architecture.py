"""The shape the README promises, read from the source: packages that import one another in one
direction only, and WeasyPrint and pydyf reached from one package."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "chapbook"


def _unit(module: str) -> str | None:
    """The package (or top-level module) of chapbook a module belongs to."""
    parts = module.split(".")
    return parts[1] if parts[0] == "chapbook" and len(parts) > 1 else None


def _imports(path: Path) -> list[str]:
    """Every module the file imports when it runs (at the top or inside a function); imports for
    type checkers only (`if TYPE_CHECKING:`) are not imports at run time and are left out."""
    tree = ast.parse(path.read_text("utf-8"))
    typing_only = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for node in ast.walk(block)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module] if node.module != "chapbook" else \
                [f"chapbook.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def _modules() -> dict[str, Path]:
    return {".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
            .removesuffix(".__init__"): path for path in PACKAGE.rglob("*.py")}


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in _modules().items():
        here = _unit(module)
        for imported in _imports(path):
            there = _unit(imported)
            if here and there and there != here:
                graph.setdefault(here, set()).add(there)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in the graph, as the path around it, or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for following in sorted(graph.get(node, ())):
            if state.get(following) == 1:
                return [*path[path.index(following):], following]
            if following not in state and (found := visit(following)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_two_packages_import_each_other() -> None:
    graph = _package_graph()
    units = set(graph) | {there for theres in graph.values() for there in theres}
    assert {"read", "markdown", "collect", "layout", "pdf", "builders", "model"} <= units
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_model_imports_no_stage() -> None:
    """The Book is data every stage reads: it depends on no stage (words.py, chapbook's own
    words in the book's language, is a table it reads, as languages.py is)."""
    assert _package_graph().get("model", set()) <= {"ids", "languages", "sorting", "words"}


def test_only_layout_imports_weasyprint_and_pydyf() -> None:
    reaching = {module for module, path in _modules().items()
                for imported in _imports(path)
                if imported.split(".")[0] in ("weasyprint", "pydyf")}
    assert reaching, "no module imports WeasyPrint: the test reads the wrong folder"
    assert {module.split(".")[1] for module in reaching} == {"layout"}, sorted(reaching)


def test_every_imported_distribution_is_declared() -> None:
    """pyproject.toml names every third-party package the code imports."""
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    declared = {requirement.split(">")[0].split("<")[0].split("[")[0].split("=")[0].strip()
                .lower().replace("_", "-") for requirement in tomllib.loads(
                    (PACKAGE.parents[1] / "pyproject.toml").read_text("utf-8"))["project"]
                ["dependencies"]}
    distributions = packages_distributions()
    imported = {name.split(".")[0] for path in _modules().values() for name in _imports(path)}
    third_party = imported - set(sys.stdlib_module_names) - {"chapbook"}
    missing = {top: distributions.get(top, [top]) for top in third_party
               if not {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
               & declared}
    assert not missing, missing


_TOKEN_FIELDS = {"type", "tag", "nesting", "attrs", "map", "level", "children", "content",
                 "markup", "info", "meta", "block", "hidden"}
_MUTATORS = {"update", "setdefault", "pop", "popitem", "clear", "insert", "append", "extend",
             "remove", "attrSet", "attrJoin", "attrPop"}


def _token_writes(path: Path) -> list[str]:
    """Where a module writes a token's fields by hand: `x.meta[...] = `, `x.hidden = `,
    `x.meta.update(…)`, `children.insert(…)`, `x.attrSet(…)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Subscript):
                target = target.value
            if isinstance(target, ast.Attribute) and target.attr in _TOKEN_FIELDS:
                found.append(f"{path.name}:{node.lineno}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in _MUTATORS:
            owner = node.func.value
            named = owner.attr if isinstance(owner, ast.Attribute) else \
                owner.id if isinstance(owner, ast.Name) else ""
            if named in ("meta", "children", "attrs") or node.func.attr.startswith("attr"):
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_the_collect_phase_changes_tokens_only_where_it_applies_its_decisions() -> None:
    """The collect phase decides from the essays' summaries (model/book.py, TokenChanges), and
    collect/sites.py writes the decisions into an essay's tokens when they are read; the EPUB
    keeps a chapter's document under its essay's key and those decisions, so a token changed
    anywhere else in collect/ would not be in the key, and a kept document would go stale."""
    written = [where for path in sorted((PACKAGE / "collect").glob("*.py"))
               if path.name != "sites.py" for where in _token_writes(path)]
    assert written == []
    assert _token_writes(PACKAGE / "collect" / "sites.py")  # the check sees its writes
