"""The benchmark suite: `make bench` (or `.venv/bin/python -m bench [parts] [--quick]`).

Parts: messages (chat page vs PostGraphile and a bare floor), contacts (list and search),
ingest (webhook acceptance and processing), live (webhook → subscriber latency, one and two
processes), outbox (sends per second under the per-number rate limit), memory (RSS per idle
subscriber). See BENCHMARKS.md for the latest figures and bench/__main__.py for the options.
"""
