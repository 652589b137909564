"""Collectors read a PBX (AMI live or recorded, call audio) and emit monitor.events."""
