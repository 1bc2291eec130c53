"""digiden — デジタル田園都市国家構想 as working software."""

__version__ = "0.1.0"
