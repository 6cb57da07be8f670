"""The resources around a table, one module per family: ``backup`` and ``alarms``.

Each family follows the same pipeline as the table itself and plugs into it at fixed points
(so that a reader finds, say, everything about AWS Backup in one place):

* ``desired_*(table, ...)``  the spec's intent as resource models (``tablesmith.resources``);
* ``read_*(clients, tables)``  the live state in the same models, with ARNs and IDs
  (``state.LiveBackup`` / ``state.LiveAlarm``); called by ``live.read_live``;
* ``diff_*(live, desired, table)``  pure: operations (``plan.py``) with hazards, in the order
  AWS needs; called by ``diff.plan_environment`` / ``plan_destroy`` after the table's ops;
* ``HANDLERS``  ``{op name: handler(runner, op, desired_table)}``, looked up by ``apply.py``.

A handler uses only the runner's public helpers: ``runner.call(service, region, context,
method, **kwargs)`` (retried while AWS says busy, errors wrapped in context),
``runner.table_arn(table, region)``, ``runner.report(table, message)``.
"""
