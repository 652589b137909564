"""Standards reports from the store: target, actual, variance and trend per interval and
breakdown, read from 15-minute rollups kept in step with the calls (design.md §2;
docs/reports.md)."""
