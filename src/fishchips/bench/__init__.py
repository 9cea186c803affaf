"""Rush-hour benchmarks: the shop against raw Kafka (the ceiling) and against a Quix Streams peer.

Speed is measured here and in `benchmarks/`, never in pass/fail tests. Each phase runs in
a process of its own, so its peak memory is its own and no phase warms another's caches.
"""
