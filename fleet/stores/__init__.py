"""A company's stores (points of sale) and their addresses."""
