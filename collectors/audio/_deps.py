"""Lazy imports of the optional ``[audio]`` packages.

webrtcvad (from webrtcvad-wheels), PyAudio, soxr and Pillow are imported only when a function
needs them, so ``ringwatch`` runs without the extra; a missing one becomes an AudioError that
says how to install it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from monitor.errors import AudioError

__all__ = ["INSTALL_HINT", "require"]

INSTALL_HINT = "install ringwatch[audio]: pip install 'ringwatch[audio]'"

# module name -> distribution that provides it
_DISTRIBUTIONS = {
    "webrtcvad": "webrtcvad-wheels",
    "pyaudio": "PyAudio",
    "soxr": "soxr",
    "PIL": "Pillow",
    "PIL.Image": "Pillow",
    "PIL.ImageDraw": "Pillow",
    "numpy": "numpy",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise AudioError naming the missing package and the fix."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        dist = _DISTRIBUTIONS.get(module, module)
        raise AudioError(
            f"audio analysis needs the Python package {dist!r} (module {module!r}), "
            f"which cannot be imported ({exc}); {INSTALL_HINT}"
        ) from exc
