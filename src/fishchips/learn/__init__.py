"""Lessons: Kafka learnt in the shop, step by step, each step checked against the real broker.

A lesson is a TOML file (src/fishchips/lessons/), never code: `lesson` reads and checks it,
`actions` and `checks` are the fixed lists a step may name, `player` plays it beside a running shop.
"""
