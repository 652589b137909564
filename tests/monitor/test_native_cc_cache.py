"""The compiler cache the compiled hot path is built through (.ci/cc-cache, docs/testing.md):
the same C with the same flags compiles once, whatever folder pip builds it in; a change in the
source, a header or a flag compiles again; linking is passed through."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CC_CACHE = Path(__file__).resolve().parents[2] / ".ci/cc-cache"
# __FILE__ in a header's inline function is the header's path (CPython's and mypyc's headers)
HEADER = (
    "static inline const char *where(void) { return __FILE__; }\nstatic const int answer = 42;\n"
)
SOURCE = (
    '#include "where.h"\nconst char *here(void) { return where(); }\n'
    "int get(void) { return answer; }\n"
)


def _tree(root: Path, source: str = SOURCE, header: str = HEADER) -> Path:
    """A build folder as pip makes one: the source, and a header in an include folder."""
    (root / "inc").mkdir(parents=True)
    (root / "inc/where.h").write_text(header)
    (root / "m.c").write_text(source)
    return root


def _compile(root: Path, cache: Path, *flags: str, **env: str) -> None:
    cmd = [str(CC_CACHE), "gcc", "-O2", "-fPIC", *flags, f"-I{root / 'inc'}", "-c", "m.c", "-o",
           "m.o"]  # fmt: skip
    subprocess.run(cmd, cwd=root, check=True, timeout=60,
                   env={**os.environ, "RINGWATCH_CACHE": str(cache), **env})  # fmt: skip


def _stored(cache: Path) -> list[Path]:
    return sorted((cache / "cc").glob("*.o"))


def test_the_same_c_in_another_folder_is_compiled_once(tmp_path: Path) -> None:
    assert shutil.which("gcc"), "make test's system-deps installs gcc"
    cache = tmp_path / "cache"
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    _compile(a, cache)
    (stored,) = _stored(cache)
    assert stored.read_bytes() == (a / "m.o").read_bytes()
    # another folder (its header path in __FILE__ differs): the stored object, no new entry
    os.utime(stored, (0, 0))
    _compile(b, cache)
    assert _stored(cache) == [stored] and stored.stat().st_mtime > 0  # a hit touches it
    assert (b / "m.o").read_bytes() == stored.read_bytes()


def test_a_changed_source_header_or_flag_compiles_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _compile(_tree(tmp_path / "a"), cache)
    _compile(_tree(tmp_path / "b", source=SOURCE.replace("answer;", "answer + 1;")), cache)
    _compile(_tree(tmp_path / "c", header=HEADER.replace("42", "43")), cache)
    _compile(_tree(tmp_path / "d"), cache, "-DEXTRA=1")
    assert len(_stored(cache)) == 4
    nm = subprocess.run(["nm", str(tmp_path / "b/m.o")], capture_output=True, text=True)
    assert "get" in nm.stdout  # a real object came out of each miss


def test_linking_passes_through_and_the_switch_turns_it_off(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    a = _tree(tmp_path / "a")
    _compile(a, cache, RINGWATCH_CC_CACHE="0")
    assert _stored(cache) == [] and (a / "m.o").exists()
    subprocess.run([str(CC_CACHE), "gcc", "-shared", "m.o", "-o", "m.so"], cwd=a, check=True,
                   env={**os.environ, "RINGWATCH_CACHE": str(cache)}, timeout=60)  # fmt: skip
    assert (a / "m.so").exists() and _stored(cache) == []
