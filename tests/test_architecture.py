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
DEFERRED_ALLOWED = {"fmnist_helpers.build.cli"}
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


#: The layers, in order: a module imports only from its own layer and the layers before it.
LAYERS = ("core", "store", "study", "analyses", "ledger", "pages", "build")


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_sits_in_a_layer_and_imports_never_climb():
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= 4, f"modules left at the top of the package: {top}"
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} \
        == set(LAYERS)
    climbing = []
    for name, targets in _graph().items():
        if name == "fmnist_helpers":
            continue  # the facade: it imports its layers on demand
        assert _layer(name) is not None, f"{name} is in no layer"
        climbing += [f"{name} -> {t}" for t in targets
                     if _layer(t) is not None and _layer(t) > _layer(name)]
    assert not climbing, "imports that climb the layers: " + ", ".join(sorted(climbing))


def test_the_facade_finds_every_module_in_its_layer():
    import fmnist_helpers

    flat = {name.rsplit(".", 1)[1] for name in MODULES if name.count(".") == 2}
    assert set(fmnist_helpers.LAYER_OF) == flat
    for name, layer in fmnist_helpers.LAYER_OF.items():
        assert (PACKAGE / layer / f"{name}.py").exists() or (PACKAGE / layer / name).is_dir()


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


@pytest.mark.parametrize("name", ["fmnist_helpers.store.runs", "fmnist_helpers.core.stats",
                                  "fmnist_helpers.ledger.claims", "fmnist_helpers.core.sections",
                                  "fmnist_helpers.core.profiles", "fmnist_helpers.study.fullscale"])
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
