"""Data sources, contract validation and the stable split."""
