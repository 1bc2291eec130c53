"""Data in and out: the importer (imports/) and exports."""
