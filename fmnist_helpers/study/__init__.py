"""Layer ``study`` of fmnist_helpers: data files and splits, augmentations, the architectures,
compiling and training a run, studies, full-scale rows, the run plan.

Imports only from the layers before it: core, store.
"""
