"""ringwatch: a contact-centre telephony quality monitor."""

from monitor.native import install_pure_python_finder

__version__ = "0.1.0"

install_pure_python_finder()  # RINGWATCH_PURE_PYTHON=1: the .py sources, not compiled modules
