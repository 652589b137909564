"""ringwatch's build backend: setuptools' own, plus the compiled hot path.

pyproject.toml names this module as the build backend (``backend-path = [".ci/backend"]``). Every
hook is setuptools' (re-exported below); the one addition is ``BuildExt`` (pyproject
``[tool.setuptools.cmdclass]``), which adds the ingest hot path compiled by mypyc
(docs/decisions/0007-mypyc-hot-path.md) to the extensions setuptools builds, next to the AMI
parser's C step (``collectors.ami._speedups``, decision 0006) and the frozen dataclasses' one
(``monitor._frozen``, decision 0008).

Both are optional, never a reason for an install to fail: without a C compiler, with
``RINGWATCH_COMPILE=0`` in the environment, or when a compile fails, the install goes on and the
same modules run as plain Python (a warning says so). The compiled modules are the same source
files; ``RINGWATCH_PURE_PYTHON=1`` at run time makes an installed tree use the ``.py`` files
again (``monitor/native.py``).
"""

from __future__ import annotations

import os
import shutil
import sysconfig
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (the PEP 517 hooks are setuptools')
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, CompileError, ExecError, LinkError, PlatformError

# The modules every AMI event goes through (parse -> translate -> tracker -> rules), compiled
# together into one shared library. The build environment has no third-party packages: what a
# module imports from one (prometheus_client in the exporter) is typed Any there. Not the metric
# families (monitor/metrics/fast.py): a test mirrors every update into prometheus-client by
# wrapping the families' methods, which compiled callers would bypass.
NATIVE_MODULES = [
    "collectors/ami/parser.py",
    "collectors/ami/translate/__init__.py",
    "collectors/ami/translate/fields.py",
    "collectors/ami/translate/other.py",
    "collectors/ami/translate/queue.py",
    "monitor/channel.py",
    "monitor/events/base.py",
    "monitor/events/channels.py",
    "monitor/events/queues.py",
    "monitor/events/other.py",
    "monitor/record.py",
    "monitor/tracker/base.py",
    "monitor/tracker/call.py",
    "monitor/tracker/settings.py",
    "monitor/tracker/state.py",
    "monitor/tracker/queues.py",
    "monitor/tracker/tracker.py",
    "monitor/pipeline.py",
    "monitor/rules/evaluate.py",
    "monitor/rules/live.py",
    "monitor/rules/checks_call.py",
    "monitor/rules/checks_audio.py",
    "monitor/rules/cadence.py",
    "monitor/rules/model.py",
    "monitor/sinks.py",
    "monitor/metrics/exporter.py",
]
GROUP = "monitor._native"  # the shared library's module name (monitor/_native*.so)
# mypyc comes with mypy; the pin is the version the compiled code was tested with. A build
# environment gets it only when it will compile (get_requires_for_build_*): an install with
# RINGWATCH_COMPILE=0 (`make demo`) skips downloading and installing it.
MYPYC_REQUIREMENT = "mypy==2.4.1"


def _compile_requires() -> list[str]:
    return [] if os.environ.get("RINGWATCH_COMPILE", "1") == "0" else [MYPYC_REQUIREMENT]


def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    return [*_setuptools.get_requires_for_build_wheel(config_settings), *_compile_requires()]


def get_requires_for_build_editable(config_settings: Any = None) -> list[str]:
    return [*_setuptools.get_requires_for_build_editable(config_settings), *_compile_requires()]


def _compiler_found() -> bool:
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) is not None


def _mypyc_extensions() -> list[Any]:
    """mypyc's extensions for NATIVE_MODULES, or none (with the reason printed)."""
    if os.environ.get("RINGWATCH_COMPILE", "1") == "0":
        print("ringwatch: RINGWATCH_COMPILE=0: the hot path stays pure Python")
        return []
    if not _compiler_found():
        print("ringwatch: WARNING: no C compiler: the hot path stays pure Python (slower)")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("ringwatch: WARNING: mypyc is not installed: the hot path stays pure Python")
        return []
    # third-party packages are not in the build environment: their types are Any here (the
    # compiled modules import none; modules they import may). No mypy cache: the developer's
    # .mypy_cache may be in use by `make typecheck` at the same time (a shared one broke once).
    flags = ["--ignore-missing-imports", "--follow-imports=silent", f"--cache-dir={os.devnull}"]
    return list(mypycify([*flags, *NATIVE_MODULES], opt_level="3", group_name=GROUP))


_NATIVE: list[Any] | None = None
_BUILDING = False  # set by the two hooks that build; pip's metadata hooks finalize commands too


def _native_once() -> list[Any]:
    """mypyc type-checks and translates on each call (~20 s): once per build, none for metadata."""
    global _NATIVE
    if not _BUILDING:
        return []
    if _NATIVE is None:
        _NATIVE = _mypyc_extensions()
    return _NATIVE


def build_wheel(*args: Any, **kwargs: Any) -> str:
    global _BUILDING
    _BUILDING = True
    return str(_setuptools.build_wheel(*args, **kwargs))


def build_editable(*args: Any, **kwargs: Any) -> str:
    global _BUILDING
    _BUILDING = True
    return str(_setuptools.build_editable(*args, **kwargs))


class BuildExt(build_ext):
    """build_ext that adds the mypyc modules, and skips them all when any fails to build."""

    def finalize_options(self) -> None:
        native = _native_once()
        self._native = {ext.name for ext in native}
        current = self.distribution.ext_modules or []
        names = {ext.name for ext in current}
        self.distribution.ext_modules = [*current, *(e for e in native if e.name not in names)]
        super().finalize_options()

    def build_extensions(self) -> None:
        native = [e for e in self.extensions if e.name in self._native]
        others = [e for e in self.extensions if e.name not in self._native]
        built: list[Any] = []
        try:
            for ext in sorted(native, key=lambda e: not e.name.startswith(GROUP)):  # library
                self.build_extension(ext)
                built.append(ext)
        except (CCompilerError, CompileError, ExecError, LinkError, PlatformError) as err:
            print(f"ringwatch: WARNING: compiling the hot path failed ({err}): pure Python")
            # a stub without its library would not import, and an older build left in the
            # tree (editable installs) would run old code: remove every compiled module
            for ext in native:
                path = self.get_ext_fullpath(ext.name)
                if os.path.exists(path):
                    os.remove(path)
            built = []
            self.extensions = others
        else:
            self.extensions = others
        super().build_extensions()
        self.extensions = [*built, *others] if len(built) == len(native) else others
