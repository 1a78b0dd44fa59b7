"""Layer ``pages`` of fmnist_helpers: sentences, tables and banners (display) and figures by topic
(viz): data in, output out.

Imports only from the layers before it: core, store, study, analyses, ledger.
"""
