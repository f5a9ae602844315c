"""The `medaid` command: one package, shared options in `options`.
"""
