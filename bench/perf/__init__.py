"""Performance benchmarks: latency, throughput, ingest speed, cold start, scale.

Run them all with `tagungsbot bench` (or `python -m bench.perf.run_all`); each module
also runs alone, e.g. `python -m bench.perf.latency --help`. docs/performance.md has
the results and the exact commands.
"""
