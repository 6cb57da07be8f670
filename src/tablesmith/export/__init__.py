"""The export stage: an environment's effective spec as another tool's configuration.

``terraform.render_terraform(env, tables)`` writes Terraform JSON (``*.tf.json``) for the
same resources ``apply`` manages: each table, its AWS Backup resources and its alarms.
Exporters are pure: spec models in, file contents out; nothing here calls AWS.
``files.write_export`` puts those contents into ``-o DIR``, replacing or deleting only what
the previous export's manifest lists, and following no symlink.
"""
