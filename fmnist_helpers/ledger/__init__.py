"""Layer ``ledger`` of fmnist_helpers: the verdict rule, one judge per claim, the 21 claims with
Holm and stability, the facts gathered for them, record verification.

Imports only from the layers before it: core, store, study, analyses.
"""
