"""Local governments' own work: their strategies, accounts, and the synthetic demo."""
