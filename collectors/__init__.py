"""Collectors read a PBX (AMI live or recorded, call audio) and emit monitor.events."""

from monitor.native import install_pure_python_finder

install_pure_python_finder()  # RINGWATCH_PURE_PYTHON=1: the .py sources, not compiled modules
