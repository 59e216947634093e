"""Importers: other systems' databases → the warehouse."""
