"""The dependency rules of docs/ARCHITECTURE.md, read from the code itself.

Every product module is parsed (``ast``; nothing is imported) and each of its imports —
module-level, inside functions, and under ``if TYPE_CHECKING:`` alike, since a lazy import is
still a dependency — is checked against the layering. A forbidden import or an import cycle
between modules fails with the exact file and line."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("oodaloo", "sync", "runway", "sandbox", "actions", "digest", "pages")
OURS = (*PACKAGES, "app")


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. "runway.api"
    target: str  # imported module of ours, e.g. "sync.store"
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.source} imports {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def product_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for package in PACKAGES:
        files += sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)
    return files


MODULES = {module_name(p): p for p in product_files()}


def _resolve(name: str) -> str | None:
    """The module of ours that ``name`` names: itself, or the longest module prefix
    (``from sync.store import Warehouse`` depends on ``sync.store``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def imports_of(path: Path) -> Iterator[Import]:
    source = module_name(path)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from .mod import y
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # "from pkg import mod" depends on pkg.mod when that is a module, else on pkg
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        for name in names:
            if name.split(".")[0] not in OURS:
                continue
            target = _resolve(name)
            if target is not None and target != source:
                yield Import(source, target, path, node.lineno)


ALL_IMPORTS = [imp for path in product_files() for imp in imports_of(path)]


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def violations(package: str, allowed: Callable[[str], bool]) -> list[str]:
    """Imports from ``package`` that ``allowed(target)`` refuses."""
    return [
        str(imp)
        for imp in ALL_IMPORTS
        if in_package(imp.source, package) and not allowed(imp.target)
    ]


def test_the_parser_sees_imports_it_must_judge() -> None:
    """The checks below are only as good as the import list: it must hold known edges."""
    edges = {(i.source, i.target) for i in ALL_IMPORTS}
    assert ("runway.api", "runway.pipeline") in edges
    assert ("oodaloo.wiring", "sandbox.transport") in edges  # a lazy import inside a function
    assert ("sync.store", "sync.writer") in edges
    assert len(MODULES) > 100


def test_sandbox_imports_only_oodaloo_config_of_ours() -> None:
    assert (
        violations(
            "sandbox", lambda t: in_package(t, "sandbox") or t in ("oodaloo", "oodaloo.config")
        )
        == []
    )


def test_sync_never_imports_the_layers_above_it_or_the_sandbox() -> None:
    forbidden = ("sandbox", "runway", "actions", "digest", "pages", "app")
    assert violations("sync", lambda t: not any(in_package(t, f) for f in forbidden)) == []


# runway reads the store (sync.store, sync.schema) and its own settings; it never talks to QBO,
# the clock or the network. Its command (runway.cli) is a caller like the pages: it may refresh
# through the freshness service and ask the date before it reads.
RUNWAY_MAY_USE = {"sync.store", "sync.schema", "oodaloo", "oodaloo.config", "oodaloo.sqlite"}
RUNWAY_MAY_USE |= {"oodaloo.timezone", "oodaloo.faces"}
RUNWAY_CLI_MAY_ALSO_USE = {"oodaloo.clock", "sync.freshness"}


def test_runway_reads_the_store_and_never_talks_to_qbo_or_the_clock() -> None:
    offenders = [
        str(i)
        for i in ALL_IMPORTS
        if in_package(i.source, "runway")
        and not in_package(i.target, "runway")
        and i.target not in RUNWAY_MAY_USE
        and not (i.source == "runway.cli" and i.target in RUNWAY_CLI_MAY_ALSO_USE)
    ]
    assert offenders == []


def test_actions_import_no_pages_or_digest() -> None:
    forbidden = ("pages", "digest", "app")
    assert violations("actions", lambda t: not any(in_package(t, f) for f in forbidden)) == []


def test_digest_imports_no_pages() -> None:
    assert violations("digest", lambda t: not in_package(t, "pages") and t != "app") == []


def test_pages_use_the_digest_only_through_its_public_face() -> None:
    assert violations("pages", lambda t: not in_package(t, "digest") or t == "digest") == []


def test_only_the_wiring_and_the_demo_commands_reach_into_the_sandbox() -> None:
    """The product talks to the sandbox as to QBO (over the wiring's transport); only the demo's
    set-up commands (build the firm, write the demo sign-in secrets) use it directly."""
    may = {"oodaloo.wiring", "oodaloo.demo", "oodaloo.auth_cli"}
    offenders = [
        str(i)
        for i in ALL_IMPORTS
        if in_package(i.target, "sandbox")
        and not in_package(i.source, "sandbox")
        and i.source not in may
    ]
    assert offenders == []


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def module_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in ALL_IMPORTS:
        # a package's __init__ naming its submodules is the package's face, not a dependency
        # of the submodule on the package
        if imp.source in PACKAGES and in_package(imp.target, imp.source):
            continue
        edges.setdefault(imp.source, set()).add(imp.target)
    return edges


def test_there_is_no_import_cycle_between_modules() -> None:
    assert find_cycle(module_graph()) is None


def test_the_cycle_finder_finds_a_cycle_and_none_where_there_is_none() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "pages"])
def test_each_package_names_its_public_api(package: str) -> None:
    """The package face: ``__init__`` has a docstring and an ``__all__`` of its public names."""
    tree = ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{package}/__init__.py has no docstring"
    names = [
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    ]
    assert "__all__" in names, f"{package}/__init__.py does not name its public API (__all__)"


SUPPRESSION = re.compile(r"#\s*(type:\s*ignore(\[[^\]]*\])?|noqa(:\s*[A-Z0-9, ]+)?)")


def unexplained_suppressions(paths: list[Path]) -> list[str]:
    """``# type: ignore[...]`` / ``# noqa: ...`` without a reason after it on the same line."""
    found = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SUPPRESSION.search(line)
            if match and not re.match(r"\s*(#|—|-|\(|:)?\s*\S", line[match.end() :]):
                where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                found.append(f"{where}:{number}: {line.strip()}")
    return found


def test_the_suppression_check_tells_a_reason_from_none(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "a = f()  # type: ignore[arg-type]\n"
        "b = g()  # type: ignore[arg-type]  # polars stubs lack it\n"
        "import x  # noqa: F401\n"
        "import y  # noqa: F401  # re-exported\n",
        encoding="utf-8",
    )
    found = unexplained_suppressions([sample])
    assert [line.split(": ", 1)[1] for line in found] == [
        "a = f()  # type: ignore[arg-type]",
        "import x  # noqa: F401",
    ]


def test_every_suppression_in_product_code_says_why() -> None:
    """docs/ARCHITECTURE.md, quality gate: each ``type: ignore``/``noqa`` carries its reason."""
    assert unexplained_suppressions(product_files()) == []
