"""The pure decision core: quantities, histograms, recommenders, guardrails, policy, decide().

Nothing here does I/O, reads the clock or the environment, or imports a Kubernetes or HTTP client.
Time is always an argument (``now``, Unix seconds). Values carry their unit in their name
(``cpu_millicores``, ``memory_bytes``, ``_seconds``); Kubernetes quantity strings exist only in
``quantities`` and at the edges of the program. Everything works on *rows* (one row = one container)
held in numpy arrays, so the operator (a few rows) and the backtest (thousands of rows) run the
same code.
"""
