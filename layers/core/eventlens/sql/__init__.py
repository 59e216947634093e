"""Named SQL statements, read with importlib.resources."""
