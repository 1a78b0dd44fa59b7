"""Layer ``store`` of fmnist_helpers: the run store (atomic, locked, validated), cached analyses,
committed records, the read log.

Imports only from the layers before it: core.
"""
