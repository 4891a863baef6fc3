"""The package's own rules (docs/addon.md "Files"): its modules import only the standard library
and each other (never mitmproxy: they run on the host's Python), each module's first doc line
says what it owns and whether it does I/O, and the package map names every module."""

import ast
import importlib
import sys

import pytest

from conftest import ADDON_DIR

PACKAGE = ADDON_DIR / "bot_bottle_addon"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def test_the_package_has_its_modules():
    names = {p.stem for p in MODULES}
    assert {"config", "hosts", "refusal", "encodings", "known_values", "dlp", "injection",
            "request_log"} <= names, names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_the_standard_library_and_the_package(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:
                continue  # relative: the package itself
            tops = [node.module.split(".")[0]]
        else:
            continue
        for top in tops:
            assert top in sys.stdlib_module_names, f"{path.name} imports {top} (line {node.lineno})"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_first_doc_line_says_whether_it_does_io(path):
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc, f"{path.name} has no docstring"
    assert "I/O" in doc.splitlines()[0], f"{path.name}: first doc line does not say whether it does I/O"


# The map's entries: the top-level modules and the subpackages (each one line).
ENTRIES = sorted([p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
                 + [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()])


@pytest.mark.parametrize("name", ENTRIES)
def test_package_map_names_every_module(name):
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    assert f"\n    {name} " in doc, f"bot_bottle_addon/__init__.py's map does not name {name}"


def test_importing_the_package_loads_no_mitmproxy():
    for p in MODULES:
        rel = p.relative_to(ADDON_DIR).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        importlib.import_module(".".join(parts))
    assert not [m for m in sys.modules if m == "mitmproxy" or m.startswith("mitmproxy.")]


@pytest.mark.parametrize("name", ["bottle_verdict.py", "mitm_patches.py"])
def test_the_mitmproxy_side_says_it_too(name):
    doc = ast.get_docstring(ast.parse((ADDON_DIR / name).read_text()))
    assert "I/O" in doc.splitlines()[0]
