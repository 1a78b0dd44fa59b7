"""Layer ``core`` of fmnist_helpers: names, run configs and keys, profiles, the section registry,
the seed's numbers, statistics, provenance, progress lines. No TensorFlow.

Imports only from the layers before it: no other layer.
"""
