"""The core every backend shares: the runner contract, targets, return forms, the evaluator,
verdicts and limits. Imports nothing from the worker, the backends or the loop."""
