"""The ``ringwatch`` command line (the service edge: it catches RingwatchError and reports)."""
