"""Pub/sub backends, one module each, chosen by URL scheme and imported lazily."""
