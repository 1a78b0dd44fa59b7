"""The package's shape: imports flow one way, modules stay small, light modules stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fmnist_helpers"
#: Modules whose imports of the package may sit inside functions: the command line loads the
#: heavy modules (TensorFlow) only for the commands that need them, so ``--help`` is instant.
DEFERRED_ALLOWED = {"fmnist_helpers.cli"}
MAX_LINES = 800  # a smell detector (look for the seam), never a number to pack lines for


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _package_imports(path: Path) -> list[tuple[str, bool]]:
    """Every import of a package module anywhere in the file: (module, at module level)."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name in MODULES:
                found.append((name, id(node) in top))
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        graph[name] = {target for target, _ in _package_imports(path)
                       if target != name and not name.startswith(target + ".")}
    return graph


def test_no_import_cycle_between_the_package_modules():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("name", sorted(set(MODULES) - DEFERRED_ALLOWED))
def test_package_imports_sit_at_the_top_of_the_module(name):
    deferred = [target for target, at_top in _package_imports(MODULES[name]) if not at_top]
    assert not deferred, f"{name} imports {deferred} inside a function"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_the_size_limit(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines (limit {MAX_LINES}): split it by topic"


@pytest.mark.parametrize("name", ["fmnist_helpers.runs", "fmnist_helpers.stats",
                                  "fmnist_helpers.claims", "fmnist_helpers.sections",
                                  "fmnist_helpers.profiles", "fmnist_helpers.fullscale"])
def test_light_modules_import_without_tensorflow(name):
    code = (f"import sys, {name}; "
            "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, f"importing {name} loads {result.stdout.strip()}"


def test_the_choice_lists_name_what_is_built():
    from fmnist_helpers import augment, choices, models

    assert tuple(models.ARCHITECTURES) == choices.MODEL_NAMES
    assert choices.MODEL_NAMES[:len(choices.SEED_MODEL_NAMES)] == choices.SEED_MODEL_NAMES
    assert set(choices.MODEL_TITLES) == set(choices.MODEL_NAMES)
    assert set(choices.AUGMENTATION_TITLES) == set(choices.AUGMENTATIONS)
    for name in choices.AUGMENTATIONS:
        assert augment.augmentation_layer(name) is not None
