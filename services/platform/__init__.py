"""The process machinery, apart from the business rules: settings and start-up (`settings`,
`bootstrap`, `local_secrets`, `crypto`), the shared `runtime`, background `workers` and their
liveness, live events and their broadcast backends, rate limits, logs, request logs, metrics,
system status, and the command line."""
