"""The national strategy and its KPIs: the strategy tree, KPIs, observations, validation, local facts."""
