"""The registry: the local governments (all 1,788 units), their kinds and codes."""
