"""Layer ``analyses`` of fmnist_helpers: numbers about trained models: metrics, saliency and sanity
checks, t-SNE and separability, attacks. They never change the caller's model.

Imports only from the layers before it: core, store, study.
"""
