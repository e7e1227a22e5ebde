"""Media files: fetching them from WhatsApp (`fetcher`), checking and converting them (`types`,
`codec`), keeping them (`store`: local folder or S3), serving them through signed links
(`links`, `serving`), and preparing uploads agents send (`sending`)."""
