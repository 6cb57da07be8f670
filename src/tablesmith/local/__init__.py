"""The embedded local target: a moto server on 127.0.0.1, persistent, with what moto lacks.

Everything emulator-specific lives in this package and nowhere else: the engine only ever
speaks the AWS API to an endpoint URL.

* ``server``      starts moto's server on 127.0.0.1, loads and saves state (``store``);
* ``helper``      a CLI command's local target, served by a helper process for as long as
                  the command runs (``TABLESMITH_LOCAL_IN_PROCESS=1``: in the command's own);
* ``store``       the state directory: the state file, a lock, and the endpoint of a running
                  ``tablesmith local serve``;
* ``snapshot``    the state as inert, versioned JSON (``docs/local-state.md``), re-created
                  through moto's API on load;
* ``dynamodb``    global-table replicas (ReplicaUpdates) with a CREATING phase, item
                  replication and GSI changes copied to every replica, and the UpdateTable
                  fields moto ignores (SSE, table class, on-demand throughput, re-enabling
                  a stream);
* ``newer``       resource-based policies (table and stream ARNs), Contributor Insights,
                  Kinesis streaming destinations, warm-throughput increases only, MRSC
                  (MultiRegionConsistency, witnesses) and multi-attribute GSI key limits;
* ``realistic``   the opt-in realistic mode (``local serve --realistic``,
                  ``TABLESMITH_LOCAL_REALISTIC=1``): GSI backfill, table, replica and index
                  phases that take time, the TTL cooldown, on a clock scaled by
                  ``TABLESMITH_LOCAL_TIME_SCALE``; and, in every mode, GSI ``ItemCount`` /
                  ``IndexSizeBytes`` and ``TableSizeBytes`` (``docs/local-realistic.md``);
* ``cloudwatch``  new alarms start INSUFFICIENT_DATA, an updated alarm keeps its state;
* ``partiql``     ExecuteStatement ``Parameters`` wherever a value may stand, and parser
                  failures as ValidationException instead of a 500;
* ``unknown``     operations moto does not implement answer AWS's UnknownOperationException
                  (a WSGI layer behind ``gate``), not an HTML page;
* ``backup``      AWS Backup selections, UpdateBackupPlan, tag reads with or without the
                  trailing slash.

Each extension module has an idempotent ``install()`` that patches moto's classes in this
process; it must run before the server's app is built. Extension state lives on moto's own
backend and model objects (``_ts_*`` attributes, plain data); ``snapshot`` saves and restores
each one by name, and refuses to save one it does not know.
"""
