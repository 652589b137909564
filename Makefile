# ringwatch — the two commands that matter: `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# what each target installs: the demo only what has wheels (no compiler, no system headers);
# the tests everything, with PyAudio (`device`: needs portaudio19-dev from system-deps)
DEMO_EXTRAS := audio
DEV_EXTRAS := audio,device,postgres,grafana,dev
SYSSTAMP := .ci/.system-deps-done

.PHONY: demo test lint typecheck unit system-deps venv demo-venv asterisk bench clean dashboards alerts

demo: demo-venv
	$(BIN)/ringwatch demo

test: system-deps venv asterisk lint typecheck unit

# Debian packages the suite uses for real (prometheus, promtool, chromium, sox, espeak-ng,
# Asterisk sound files with the `en` link, portaudio, postgresql). Installs only what is missing.
system-deps:
	@bash .ci/system-deps.sh

venv: $(STAMP)

# Asterisk 22.10.1 with chan_pjsip for the contact-centre lab (tests/lab, docs/testing.md):
# built once from ../shared/asterisk (or $$RINGWATCH_ASTERISK_SRC) into
# $${RINGWATCH_CACHE:-~/.cache/ringwatch}/asterisk-<key>; cached runs take seconds.
asterisk:
	@bash .ci/build-asterisk.sh >/dev/null

# a venv that `make test` made stays the full one (its compiled modules rebuilt, never stale)
ifneq ($(wildcard $(STAMP)),)
demo-venv: venv
else
demo-venv: $(DEMO_STAMP)
endif

# the compiled hot path (mypyc, docs/decisions/0007-mypyc-hot-path.md): editing one of its
# modules makes the install (and so its compiled copy) out of date
NATIVE_SRC := $(shell sed -n 's/^    "\(.*\.py\)",$$/\1/p' .ci/backend/ringwatch_build.py)

# gcc through the compiler cache (.ci/cc-cache): the Dockerfile test's builder stage compiles
# the same C and reuses the objects (about a minute of gcc); without a compiler, plain $$CC
# (run by the venv's own interpreter, isolated: inside pip's build environment `python3` on
# the PATH may be a pyenv shim that finds no standard library)
CACHED_CC = CC="$$(command -v $${CC:-gcc} >/dev/null && echo '$(CURDIR)/$(BIN)/python -I $(CURDIR)/.ci/cc-cache ')$${CC:-gcc}"

$(STAMP): pyproject.toml collectors/ami/_speedups.c monitor/_frozen.c .ci/backend/ringwatch_build.py $(NATIVE_SRC)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(CACHED_CC) $(BIN)/pip install -q -e '.[$(DEV_EXTRAS)]'
	@touch $(STAMP)

# The demo's install: wheels only and no compile (the hot path runs as plain Python, the same
# results; `make venv` compiles it), no byte-compiling either (Python caches what the demo
# imports as it runs: 15 s less CPU): well under a minute with pip's cache warm.
$(DEMO_STAMP): pyproject.toml collectors/ami/_speedups.c monitor/_frozen.c .ci/backend/ringwatch_build.py $(NATIVE_SRC)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	RINGWATCH_COMPILE=0 $(BIN)/pip install -q --no-compile --only-binary=:all: -e '.[$(DEMO_EXTRAS)]'
	@touch $(DEMO_STAMP)

lint: venv
	$(BIN)/ruff check monitor collectors tests bench
	$(BIN)/ruff format --check monitor collectors

typecheck: venv
	$(BIN)/mypy monitor collectors

unit: venv
	$(BIN)/pytest -q --durations=20

# also the two-minute form of the transport soak (make test runs it for 45 s)
bench: venv
	RINGWATCH_SOAK_SECONDS=120 $(BIN)/pytest -q -s tests/collectors/ami/test_transport_soak.py
	bash bench/run.sh $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache tests/artifacts
