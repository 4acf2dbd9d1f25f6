"""Reliability: hostile uploads, property-based fuzzing, schemathesis, load and storage faults.

``make test`` runs a bounded version of every test here; ``make reliability``
(``python -m infra.reliability``) runs the same tests at full size and prints a summary.
"""
