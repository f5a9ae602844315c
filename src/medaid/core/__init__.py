"""The core: money in fen, dates and the clock, errors, labels, workbook cells.

Imports nothing else of medaid; everything else may import it.
"""
