"""Benchmarks: the function against the bare client calls it cannot beat.

    python3 -m dev.bench           # full run (several minutes on two cores)
    python3 -m dev.bench --quick   # a smoke run of the same code, small counts

Every figure is a ratio measured side by side in one run: subject and baseline called
alternately, call by call (the order flips each round), medians over the calls, the
whole comparison repeated. Everything talks to the emulators on 127.0.0.1.

Why not pyperf: it times each benchmark on its own, in worker processes it spawns, and
compares runs afterwards. These baselines only mean something interleaved call by call
with the subject, against the same in-process emulators (whose recorded requests they
replay), so a twenty-line loop (measure.py) does the job without fighting that model.
"""
