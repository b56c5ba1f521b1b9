"""One module per resource; each declares its own prefix and tags."""
