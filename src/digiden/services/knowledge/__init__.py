"""Shared knowledge: the catalogue of measures, good practices, search, similarity and the menu book."""
