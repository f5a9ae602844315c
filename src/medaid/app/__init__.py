"""Use cases over a unit of work: what the API, the pages and the commands do.

The only layer, with the entry points, that uses the store (medaid.store).
"""
