"""ringwatch benchmarks against its peers (``make bench``; docs/benchmarks.md)."""
