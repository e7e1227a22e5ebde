"""Privacy under the LGPD: exporting everything kept about a person (`export`), erasing it
(`erase`), and the retention periods that delete old messages and media (`retention`)."""
