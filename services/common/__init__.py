"""Small value rules shared by several domains: phone numbers and JIDs, cursor pagination,
free-text limits, header-safe file names and MIME types, and the time a message of ours is
stored with."""
