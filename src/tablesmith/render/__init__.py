"""Renderers: the spec, plans and outputs as text for people and JSON for machines."""
