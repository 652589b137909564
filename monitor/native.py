"""Which of ringwatch's modules run compiled, and the switch back to the Python sources.

The ingest hot path (parser, translator, events, tracker, pipeline, per-call rules) is compiled
by mypyc when ringwatch is installed on a machine with a C compiler
(docs/decisions/0007-mypyc-hot-path.md, ``.ci/backend/ringwatch_build.py``). A compiled module is
an extension file next to its ``.py`` source, and Python imports the extension first, so:

- ``RINGWATCH_PURE_PYTHON=1`` (anything but ``0``) makes every ringwatch module load from its
  ``.py`` source instead (and the AMI parser skip its C step). ``monitor`` and ``collectors``
  install the finder that does it before any of their modules is imported.
- ``stale_modules()`` lists compiled modules whose source was edited after the build: they run
  the old code until ``make venv`` (or ``pip install -e .``) rebuilds them. The test suite refuses
  to run on them; the service logs a warning.
- ``summary()`` is that, and which optional C steps (the AMI parser's, the frozen records')
  loaded: the service logs it at start (a warning when ``degraded()``), ``ringwatch import``
  and ``replay`` print it when degraded.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec
from pathlib import Path
from types import ModuleType

__all__ = [
    "PACKAGES",
    "c_steps",
    "compiled_modules",
    "degraded",
    "install_pure_python_finder",
    "pure_python_requested",
    "source_of",
    "stale_modules",
    "summary",
]

PACKAGES = ("monitor", "collectors")
_ROOT = Path(__file__).resolve().parent.parent


def pure_python_requested() -> bool:
    return os.environ.get("RINGWATCH_PURE_PYTHON", "") not in ("", "0")


def source_of(extension: str | os.PathLike[str]) -> Path | None:
    """The ``.py`` file an extension module was compiled from (None: no source, e.g. a C file)."""
    path = Path(extension)
    for suffix in EXTENSION_SUFFIXES:
        if path.name.endswith(suffix):
            source = path.with_name(path.name[: -len(suffix)] + ".py")
            return source if source.is_file() else None
    return None


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Loads ringwatch modules from their ``.py`` source even where a compiled one exists."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, ExtensionFileLoader) or not spec.origin:
            return None
        source = source_of(spec.origin)
        if source is None:
            return None
        locations = [str(source.parent)] if source.name == "__init__.py" else None
        return importlib.util.spec_from_file_location(
            fullname, source, submodule_search_locations=locations
        )


def install_pure_python_finder() -> bool:
    """Put the source-first finder in front when ``RINGWATCH_PURE_PYTHON`` asks for it."""
    if not pure_python_requested():
        return False
    if not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst())
    return True


def _compiled_files() -> list[tuple[str, Path, Path]]:
    """(module, extension, source) for every compiled module in the tree."""
    out: list[tuple[str, Path, Path]] = []
    for package in PACKAGES:
        found = {
            ext for suffix in EXTENSION_SUFFIXES for ext in (_ROOT / package).rglob("*" + suffix)
        }
        for ext in sorted(found):
            source = source_of(ext)
            if source is None:
                continue
            rel = source.relative_to(_ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            out.append((".".join(parts), ext, source))
    return out


def compiled_modules() -> list[str]:
    """The ringwatch modules that exist compiled (whether or not this process uses them)."""
    return [name for name, _, _ in _compiled_files()]


def stale_modules() -> list[str]:
    """Compiled modules whose ``.py`` source is newer than the compiled file."""
    return [
        name
        for name, ext, source in _compiled_files()
        if source.stat().st_mtime > ext.stat().st_mtime
    ]


def summary() -> str:
    """One line for logs: compiled or pure Python and why, and which optional C steps run."""
    return f"{_mypyc_summary()}; {c_steps()}"


def degraded() -> bool:
    """True when the hot path runs slower than installed could: pure Python without being
    asked to, stale compiled modules, or a C step missing."""
    if pure_python_requested():
        return False
    from collectors.ami import parser
    from monitor import frozen

    return (
        not compiled_modules()
        or bool(stale_modules())
        or not (parser.ACCELERATED and frozen.ACCELERATED)
    )


def c_steps() -> str:
    """Which optional C extensions (decisions 0006, 0008) are loaded."""
    if pure_python_requested():
        return "C steps: off (RINGWATCH_PURE_PYTHON is set)"
    from collectors.ami import parser
    from monitor import frozen

    have = {
        "AMI parse (collectors/ami/_speedups.c)": parser.ACCELERATED,
        "frozen records (monitor/_frozen.c)": frozen.ACCELERATED,
    }
    on = [name for name, ok in have.items() if ok]
    off = [name for name, ok in have.items() if not ok]
    if not off:
        return "C steps: " + ", ".join(on)
    return "C steps missing (not built at install: no C compiler?): " + ", ".join(off)


def _mypyc_summary() -> str:
    compiled = compiled_modules()
    if pure_python_requested():
        return "hot path: pure Python (RINGWATCH_PURE_PYTHON is set)"
    if not compiled:
        return "hot path: pure Python (not compiled at install: no C compiler?)"
    stale = stale_modules()
    if stale:
        return (
            f"hot path: compiled, but {len(stale)} module(s) edited since the build run old "
            f"code ({', '.join(stale[:3])}...): rebuild with `make venv`"
        )
    return f"hot path: compiled by mypyc ({len(compiled)} modules)"
