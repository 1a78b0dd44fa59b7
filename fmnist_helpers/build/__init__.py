"""Layer ``build`` of fmnist_helpers: papermill execution with rebuild fingerprints, nbconvert
rendering, the index, local workers and Ray tasks, the fmnist-report command.

Imports only from the layers before it: core, store, study, analyses, ledger, pages.
"""
