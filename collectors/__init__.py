"""Collectors read a PBX (AMI over TCP, recorded transcripts, call audio) and emit monitor.events."""
