"""Adopt what already runs: read live tables into a spec that reproduces them exactly.

``aws.py`` reads tables (with their AWS Backup resources and alarms) into the spec's model
and checks that the spec would change nothing; ``yaml_writer.py`` writes the native YAML.
"""
