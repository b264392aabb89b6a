"""The architecture, enforced: imports point downward, no cycles, one reader of settings."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"

# What each part of the package may import from the rest of it (besides itself).
ALLOWED = {
    "text": set(),
    "settings": set(),
    "content": {"text"},
    "matching": {"content", "text"},
    "storage": {"matching", "text"},
    "app": {"storage", "matching", "content", "text", "settings"},
    "console": {"app", "matching"},
    "telegram": {"app", "matching", "storage", "content", "text", "settings"},
    "web": {"app", "matching", "storage", "content", "text", "settings"},
    "cli": {"app", "console", "matching", "storage", "content", "text", "settings"},
    "entry": {"cli", "console", "telegram", "web", "app", "settings"},
    "__main__": {"entry"},
    "__init__": set(),
}
CORE = ("content", "matching", "text")
CHANNELS = ("cli", "console", "telegram", "web")
# Only the application layer builds the engine and the question log.
ASSEMBLY_PARTS = {"bot.matching.encoder", "bot.storage.sqlite", "bot.storage.postgres"}


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path, *, runtime_only: bool = False) -> set[str]:
    """The bot modules a file imports; ``runtime_only`` leaves out function bodies and
    ``if TYPE_CHECKING:`` blocks (they cannot make an import cycle)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes: list[ast.AST] = []
    if runtime_only:
        stack: list[ast.AST] = list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes.append(node)
            stack.extend(ast.iter_child_nodes(node))
    else:
        nodes = list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "bot")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bot":
            for alias in node.names:  # "from bot.content import answers" names a module
                sub = f"{node.module}.{alias.name}"
                exists = (BOT.parent / (sub.replace(".", "/") + ".py")).exists()
                found.add(sub if exists else str(node.module))
    return found


MODULES = {module_name(p): p for p in sorted(BOT.rglob("*.py"))}


def test_every_import_points_downward():
    wrong = [
        f"{name} imports {target}"
        for name, path in MODULES.items()
        for target in imports(path)
        if part_of(target) != part_of(name) and part_of(target) not in ALLOWED[part_of(name)]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_core_never_imports_the_application_layer_storage_or_a_channel():
    core = [n for n in MODULES if part_of(n) in CORE]
    assert core
    outside = ("app", "storage", "entry", *CHANNELS)
    for name in core:
        outward = {t for t in imports(MODULES[name]) if part_of(t) in outside}
        assert not outward, f"{name} imports {outward}"


def test_the_application_layer_never_imports_a_channel():
    app = [n for n in MODULES if part_of(n) == "app"]
    assert app
    for name in app:
        outward = {t for t in imports(MODULES[name]) if part_of(t) in ("entry", *CHANNELS)}
        assert not outward, f"{name} imports {outward}"


def test_the_command_line_never_imports_telegram():
    cli = [n for n in MODULES if part_of(n) == "cli"]
    assert cli
    for name in cli:
        assert not {t for t in imports(MODULES[name]) if part_of(t) == "telegram"}, name


def test_channels_are_adapters_over_the_application_layer():
    """Each channel talks to ``bot.app``, and none builds an encoder or a store itself."""
    for channel in CHANNELS:
        names = [n for n in MODULES if part_of(n) == channel]
        used = set().union(*(imports(MODULES[n]) for n in names))
        assert any(part_of(t) == "app" for t in used), f"{channel} does not use bot.app"
        assert not used & ASSEMBLY_PARTS, f"{channel} assembles: {used & ASSEMBLY_PARTS}"


def test_there_are_no_import_cycles():
    graph = {
        name: imports(path, runtime_only=True) & set(MODULES) for name, path in MODULES.items()
    }
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            raise AssertionError("import cycle: " + " -> ".join([*trail, name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*trail, name])
        done.add(name)

    for name in graph:
        visit(name, [])


def environment_uses(tree: ast.Module) -> list[tuple[str, bool]]:
    """Each use of ``os.environ`` or ``os.getenv`` as (the expression around it, whether it
    is inside a function)."""
    uses: list[tuple[str, bool]] = []

    def walk(node: ast.AST, in_function: bool, parent: ast.AST | None) -> None:
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            uses.append((ast.unparse(parent or node), in_function))
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            walk(child, inside, node)

    walk(tree, False, None)
    return uses


def test_only_the_settings_module_reads_the_environment_and_nothing_at_import_time():
    for name, path in MODULES.items():
        uses = environment_uses(ast.parse(path.read_text(encoding="utf-8")))
        assert all(in_function for _, in_function in uses), f"{name} at import time: {uses}"
        if name == "bot.telegram.app":  # sets PTB_TIMEDELTA for PTB, reads nothing
            assert [use for use, _ in uses] == ["os.environ.setdefault"], uses
        elif name != "bot.settings":
            assert not uses, f"{name} reads the environment: {uses}"
