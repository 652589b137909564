"""History: streaming import of AMI transcripts and Asterisk ``queue_log`` into the store,
through the same pipeline as live (design.md §2; docs/import.md)."""
