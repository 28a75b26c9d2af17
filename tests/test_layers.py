"""The house rules of the layers, enforced on every module's imports (function-level ones too).

    front ends  wizard/tui/  wizard/plain.py  wizard/commands/  wizard/cli.py  wizard/__main__.py
    tasks       wizard/tasks/
    core        wizard/core/
    clients     wizard/clients/
    sandbox     wizard/sandbox/

Arrows point down only: a front end imports no `wizard.clients` module but the shared error type
and no SDK; the clients import nothing of ours above them; the core imports no task, front end or
sandbox module; a task imports no front end. Only the sandbox itself, the `sandbox` command and the
`--sandbox` start-up path import `wizard.sandbox` (tests may, and are not scanned).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wizard"

FRONT_END_PREFIXES = ("wizard.tui", "wizard.plain", "wizard.commands", "wizard.cli", "wizard.__main__")
SDKS = ("workos", "auth0")
ALLOWED_CLIENTS_IN_FRONT_ENDS = ("wizard.clients.errors",)
# the exact modules outside wizard/sandbox/ that may import wizard.sandbox
SANDBOX_IMPORTERS = frozenset({
    "wizard.commands.sandbox",  # `auth0-workos sandbox` (and the demo accounts for `verify --demo`)
    "wizard.commands.wizard",  # the `--sandbox` start-up path of the wizard
})


def module_name(rel: str) -> str:
    parts = Path(rel).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> str:
    if _within(module, *FRONT_END_PREFIXES):
        return "front end"
    for name in ("tasks", "core", "clients", "sandbox"):
        if module == f"wizard.{name}" or module.startswith(f"wizard.{name}."):
            return name
    return "package"


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def imported_names(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module an import statement names, anywhere in the file (functions, classes, branches).
    `from a.b import c` names `a.b.c` (c may be a module); relative imports are resolved."""
    out: list[tuple[int, str]] = []
    package = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            out += [(node.lineno, f"{base}.{a.name}" if a.name != "*" else base) for a in node.names]
    return out


def violations(rel: str, source: str) -> list[str]:
    """The layer rules broken by one module (`rel`: its path under the repository, e.g. wizard/plain.py)."""
    module = module_name(rel)
    here = layer(module)
    found = []
    for line, name in imported_names(source, module, rel.endswith("__init__.py")):
        why = None
        if here == "front end":
            if _within(name, "wizard.clients") and not _within(name, *ALLOWED_CLIENTS_IN_FRONT_ENDS):
                why = "a front end imports no wizard.clients module but wizard.clients.errors (use a task)"
            elif _within(name, *SDKS):
                why = "a front end imports no SDK (use a task)"
        elif here == "clients":
            if _within(name, "wizard.core", "wizard.tasks", "wizard.sandbox", *FRONT_END_PREFIXES):
                why = "the clients import nothing of ours above them"
        elif here == "core":
            if _within(name, "wizard.tasks", *FRONT_END_PREFIXES):
                why = "the core imports no task and no front end"
        elif here == "tasks" and _within(name, *FRONT_END_PREFIXES):
            why = "a task imports no front end"
        if why is None and _within(name, "wizard.sandbox") and here != "sandbox" and module not in SANDBOX_IMPORTERS:
            why = "only the sandbox command and the --sandbox start-up import wizard.sandbox"
        if why:
            found.append(f"{rel}:{line}: imports {name}: {why}")
    return found


def shipped_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_keeps_the_layers():
    problems = []
    for path in shipped_modules():
        rel = path.relative_to(ROOT).as_posix()
        problems += violations(rel, path.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_the_scan_sees_the_whole_package():
    names = {module_name(p.relative_to(ROOT).as_posix()) for p in shipped_modules()}
    assert {"wizard.plain", "wizard.tasks.import_", "wizard.core.steps", "wizard.clients.workos",
            "wizard.tui.app", "wizard.commands.import_"} <= names


def test_no_test_driver_in_the_shipped_package():
    assert not (PACKAGE / "tui" / "demo_walk.py").exists()


@pytest.mark.parametrize(("rel", "source"), [
    ("wizard/tui/views/x.py", "def work():\n    from wizard.clients.workos import make_client\n"),
    ("wizard/plain.py", "from wizard.clients import auth0\n"),
    ("wizard/commands/orgs.py", "class C:\n    def m(self):\n        import workos\n"),
    ("wizard/commands/orgs.py", "from auth0.management import Auth0\n"),
    ("wizard/clients/workos.py", "from wizard.core.config import Settings\n"),
    ("wizard/clients/auth0.py", "if True:\n    from wizard.tasks import clients\n"),
    ("wizard/core/verify.py", "def f():\n    from wizard.sandbox.demo import demo_tenant\n"),
    ("wizard/core/steps.py", "from wizard.tasks.import_ import users_to_send\n"),
    ("wizard/core/steps.py", "from wizard.tui import app\n"),
    ("wizard/tasks/import_.py", "from wizard.plain import PlainContext\n"),
    ("wizard/tasks/verify.py", "from wizard.sandbox import demo\n"),
    ("wizard/commands/verify.py", "import wizard.sandbox.demo\n"),
    ("wizard/tasks/__init__.py", "from ..tui import app\n"),
])
def test_a_violation_is_caught(rel, source):
    assert violations(rel, source), f"{rel} should break the rules:\n{source}"


@pytest.mark.parametrize(("rel", "source"), [
    ("wizard/tui/views/x.py", "from wizard.clients.errors import ApiError\nfrom wizard.tasks import import_\n"),
    ("wizard/commands/sandbox.py", "def run():\n    from wizard.sandbox.server import Sandbox\n"),
    ("wizard/commands/wizard.py", "from wizard.sandbox.server import Sandbox\n"),
    ("wizard/tasks/clients.py", "from wizard.clients.workos import make_client\n"),
    ("wizard/core/importer.py", "from wizard.clients import workos\n"),
    ("wizard/clients/workos.py", "from wizard.clients.settings import Settings\nimport workos\n"),
])
def test_allowed_imports_pass(rel, source):
    assert not violations(rel, source)
