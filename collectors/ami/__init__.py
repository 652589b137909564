"""Asterisk Manager Interface: parser (bytes -> messages), translate (messages -> events)."""
