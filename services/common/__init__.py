"""Small value rules shared by several domains: phone numbers and JIDs, cursor pagination,
free-text limits, and header-safe file names and MIME types."""
