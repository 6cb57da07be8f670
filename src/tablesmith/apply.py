"""Apply: run a plan's operations against AWS in the order AWS allows.

Algorithm:

1. Refuse first: every blocking hazard the user did not allow is listed with the flag to
   re-run with, and nothing is called.
2. Operations are grouped by table; tables are independent, so groups run concurrently on a
   bounded pool. Within a table, operations run one by one in plan order.
3. Before every mutating call the table must be settled: DynamoDB rejects an UpdateTable
   while the table is UPDATING or any index is CREATING/DELETING ("Only 1 online index can be
   created or deleted simultaneously per table"), and replica updates one at a time. After a
   call that starts a transition (table/index/replica create or delete, stream, SSE) we wait
   for it to finish, reporting progress (GSI backfilling and item counts, replica percent).
4. ResourceInUseException / LimitExceededException (too many concurrent control-plane
   operations) are retried with backoff on top of botocore's adaptive retries.
5. A failure stops that table's remaining operations and is reported with the operation;
   other tables go on. Re-running plan/apply converges, because plans are made from live
   state: nothing here assumes what an earlier, interrupted run did.
6. A stop request (the CLI sets it on the first Ctrl-C / SIGTERM) starts no new operation.
   An operation whose call was made is never cut in half: only its *wait* is abandoned (AWS
   finishes a started transition on its own, and the next plan sees it); one still waiting
   for its table to settle has called nothing and counts as not started. ``Interrupted``
   then carries what was done, what AWS is still finishing, and what was not started.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from tablesmith.aws import aws_context, error_code
from tablesmith.errors import ApplyError, HazardRefused, Interrupted, TablesmithError
from tablesmith.plan import (
    CreateGsi,
    CreateReplica,
    CreateStrongReplicas,
    CreateTable,
    DeleteGsi,
    DeleteReplica,
    DeleteStrongReplicas,
    DeleteTable,
    Op,
    ReplaceTable,
    TagResource,
    UntagResource,
    UpdateBillingMode,
    UpdateDeletionProtection,
    UpdateOnDemandThroughput,
    UpdatePitr,
    UpdateSse,
    UpdateStream,
    UpdateTableClass,
    UpdateTtl,
    UpdateWarmThroughput,
)
from tablesmith.shapes import (
    create_table_request,
    gsi_request,
    on_demand_throughput,
    pitr_specification,
    replica_create,
    sse_specification,
    stream_specification,
    strong_global_table_create,
    strong_global_table_delete,
    ttl_specification,
    warm_throughput_update,
)

if TYPE_CHECKING:
    from tablesmith.aws import Clients
    from tablesmith.hazards import HazardCode
    from tablesmith.plan import Plan
    from tablesmith.spec.model import Table

Reporter = Callable[[str, str], None]  # (table, message)
T = TypeVar("T")

MAX_APPLIERS = 8
BUSY_RETRY_SECONDS = 120.0
_BUSY = ("ResourceInUseException", "LimitExceededException",
         "ConcurrentModificationException", "ConflictException")
_TRANSIENT = ("CREATING", "UPDATING", "DELETING", "ARCHIVING")


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass
class ApplyResult:
    """What an apply did."""

    done: list[Any] = field(default_factory=list)  # operations completed
    failed: dict[str, str] = field(default_factory=dict)  # table -> error message
    # after a stop request: called, but AWS was still in transition when we stopped waiting
    in_progress: list[Any] = field(default_factory=list)
    not_started: list[Any] = field(default_factory=list)  # nothing of these was called


class _Stopped(Exception):
    """Raised inside a worker when a stop was requested (never escapes apply_plan)."""

    def __init__(self, called: bool) -> None:
        super().__init__("stop requested")
        self.called = called  # the operation had made its AWS call when it stopped


def check_hazards(plan: Plan, allowed: frozenset[HazardCode]) -> None:
    """Raise :class:`HazardRefused` listing each refused operation and the flag to use."""
    refused = plan.refused(allowed)
    if not refused:
        return
    codes = sorted({h.code.value for _, h in refused} | {c.value for c in allowed})
    lines = [f"the plan has {len(refused)} hazardous operation(s) that were not allowed:"]
    for op, hazard in refused:
        lines.append(f"  - {hazard.code.value}: {op.op} {op.table} ({op.region}): "
                     f"{hazard.message}")
        if hazard.suggestion:
            lines.append(f"      suggestion: {hazard.suggestion}")
    lines.append(f"nothing was changed. To proceed, re-run with --allow-hazards {','.join(codes)}")
    raise HazardRefused("\n".join(lines), refused)


def apply_plan(clients: Clients, plan: Plan, *, allowed: frozenset[HazardCode],
               report: Reporter | None = None, parallelism: int = MAX_APPLIERS,
               stop: threading.Event | None = None) -> ApplyResult:
    """Run ``plan``; raise :class:`ApplyError` if any table failed (after the others finish),
    :class:`Interrupted` if ``stop`` was set before everything ran."""
    check_hazards(plan, allowed)
    result = ApplyResult()
    groups: dict[str, list[Any]] = {}
    for op in plan.operations:
        groups.setdefault(op.table, []).append(op)
    desired = {t.table_name: t for t in plan.desired}
    runner = _Runner(clients, report or (lambda table, msg: None), result,
                     stop or threading.Event())
    if groups:
        with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(groups)))) as pool:
            list(pool.map(lambda item: runner.run_table(item[0], item[1], desired.get(item[0])),
                          groups.items()))
    if runner.stop.is_set() and (result.not_started or result.in_progress):
        raise Interrupted(result)
    if result.failed:
        lines = [f"{table}: {message}" for table, message in sorted(result.failed.items())]
        error = ApplyError("apply failed for " + f"{len(result.failed)} table(s):\n  "
                           + "\n  ".join(lines) + "\nre-run plan/apply to converge")
        error.result = result
        raise error
    return result


_READS = ("describe_", "list_", "get_")
# the table's own DynamoDB calls that leave its, its indexes' and its replicas' statuses as
# they were: a table seen settled stays settled through them (``_Runner._settled``); any
# other DynamoDB call naming it (UpdateTable, the families' calls) makes the next one wait
_STATUS_NEUTRAL = frozenset({
    "update_continuous_backups", "update_time_to_live", "tag_resource", "untag_resource"})


def _is_settled(desc: dict[str, Any]) -> bool:
    """Whether a table's description shows it, its indexes and its replicas all ACTIVE."""
    if desc.get("TableStatus") != "ACTIVE":
        return False
    # a warm throughput increase runs on its own (Status UPDATING while the table may be
    # ACTIVE): the next UpdateTable waits for it
    if desc.get("WarmThroughput", {}).get("Status") in _TRANSIENT:
        return False
    if any(g.get("IndexStatus") in _TRANSIENT
           or g.get("WarmThroughput", {}).get("Status") in _TRANSIENT
           for g in desc.get("GlobalSecondaryIndexes", [])):
        return False
    return not any(r.get("ReplicaStatus") in _TRANSIENT for r in desc.get("Replicas", []))


class _Runner:
    def __init__(self, clients: Clients, report: Reporter, result: ApplyResult,
                 stop: threading.Event) -> None:
        self.clients = clients
        self.report = report
        self.result = result
        self.stop = stop
        self.lock = threading.Lock()
        self.poll_interval = _env_float("TABLESMITH_POLL_INTERVAL", 2.0)
        self.timeout = _env_float("TABLESMITH_WAIT_TIMEOUT", 7200.0)
        self._op = threading.local()  # per worker: has the current operation called AWS?
        # (table, region) -> its description when last seen settled, until a DynamoDB call
        # that may change a status names it: the operations after it need not wait again
        self._seen_settled: dict[tuple[str, str], dict[str, Any]] = {}
        self._seen_lock = threading.Lock()
        # what this apply made and later operations need, instead of reading it back (a
        # backup plan's id, a role's ARN): see ``Runner.known``
        self.known: dict[tuple[str, ...], Any] = {}

    def run_table(self, table: str, ops: list[Any], desired: Table | None) -> None:
        for position, op in enumerate(ops):
            if self.stop.is_set():
                with self.lock:
                    self.result.not_started += ops[position:]
                self.report(table, "stopped: the remaining operations were not started")
                return
            self._op.called = False
            try:
                self.report(table, f"{op.op}{_detail(op)} ...")
                _handlers()[type(op)](self, op, desired)
                with self.lock:
                    self.result.done.append(op)
            except _Stopped as stopped:
                with self.lock:
                    if stopped.called:
                        self.result.in_progress.append(op)
                        self.result.not_started += ops[position + 1:]
                    else:
                        self.result.not_started += ops[position:]
                self.report(table, "stopped" + (f" while AWS finishes {op.op}" if stopped.called
                                                else ""))
                return
            except TablesmithError as exc:
                with self.lock:
                    self.result.failed[table] = f"{op.op}{_detail(op)}: {exc}"
                self.report(table, f"failed: {exc}")
                return
        self.report(table, "done")

    # ------------------------------------------------------------------ calls and waits

    def _call(self, region: str, context: str, method: str, **kwargs: Any) -> Any:
        """One mutating DynamoDB call, retried while DynamoDB says the table is busy."""
        return self.call("dynamodb", region, context, method, **kwargs)

    def call(self, service: str, region: str, context: str, method: str, *,
             took_effect: Callable[[], bool] | None = None, **kwargs: Any) -> Any:
        """One call to ``service`` in ``region``: errors wrapped in ``context``, and retried
        with backoff while AWS answers busy (ResourceInUse / LimitExceeded / conflicts).

        ``took_effect`` (for calls AWS gives no idempotency token) is asked on an error: a
        call whose answer was lost is retried by botocore, and the retry meets the first
        attempt's effect ("Table already exists"); when it says the effect is there, the
        call counts as done (and answers None)."""
        from botocore.exceptions import ClientError

        client = self.clients.client(service, region)
        if service == "dynamodb" and not method.startswith(_READS) \
                and method not in _STATUS_NEUTRAL:
            self._unsettle(kwargs.get("TableName"))
        delay = self.poll_interval
        # we wait for the table to settle before every call, so "busy" should pass quickly;
        # one that lasts is a real refusal and is reported, not retried for hours
        deadline = time.monotonic() + min(self.timeout, BUSY_RETRY_SECONDS)
        with aws_context(context):
            while True:
                try:
                    response = getattr(client, method)(**kwargs)
                    if not method.startswith(_READS):
                        self._op.called = True
                    return response
                except ClientError as exc:
                    if took_effect is not None and took_effect():
                        self._op.called = True
                        return None
                    if error_code(exc) not in _BUSY or time.monotonic() > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 1.5, 20.0)

    def table_arn(self, name: str, region: str) -> str:
        """The ARN of a table (waiting for it to be settled first)."""
        return self._arn(name, region)

    def poll(self, table: str, what: str, read: Callable[[], T],
             done: Callable[[T], bool], progress: Callable[[T], str]) -> T:
        """``read`` until ``done`` (for the families' own waits: see ``Runner.poll``)."""
        deadline = time.monotonic() + self.timeout
        delay = min(self.poll_interval, 0.2)
        last = ""
        while True:
            if self.stop.is_set():  # a wait is never worth finishing once asked to stop
                raise _Stopped(called=bool(getattr(self._op, "called", False)))
            answer = read()
            if done(answer):
                return answer
            note = progress(answer)
            if time.monotonic() > deadline:
                now = f"{note}; " if note else ""
                raise ApplyError(f"timed out after {self.timeout:.0f}s waiting for {what} "
                                 f"({now}TABLESMITH_WAIT_TIMEOUT); re-run apply to continue")
            if note and note != last:
                self.report(table, note)
                last = note
            time.sleep(delay)
            delay = min(delay * 1.5, self.poll_interval)

    def _describe(self, name: str, region: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        with aws_context(f"describing table '{name}' in {region}"):
            try:
                return self.clients.dynamodb(region).describe_table(  # type: ignore[no-any-return]
                    TableName=name)["Table"]
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return None
                raise

    def _wait(self, name: str, region: str, what: str,
              done: Callable[[dict[str, Any] | None], bool],
              progress: Callable[[dict[str, Any]], str] | None = None
              ) -> dict[str, Any] | None:
        """Poll DescribeTable until ``done``; report progress when it changes.

        Returns the description that satisfied ``done``, so callers need not describe again.
        """
        return self.poll(name, what, lambda: self._describe(name, region), done,
                         lambda desc: progress(desc) if progress and desc else "")

    def _settled(self, name: str, region: str) -> dict[str, Any]:
        """Wait until the table and all its indexes and replicas are ACTIVE; its description.

        A table this apply saw settled, and has made no status-changing call to since, is
        not described again (``_unsettle``).
        """
        with self._seen_lock:
            seen = self._seen_settled.get((name, region))
        if seen is not None:
            return seen

        def ok(desc: dict[str, Any] | None) -> bool:
            if desc is None:
                raise ApplyError(f"table '{name}' does not exist in {region}")
            return _is_settled(desc)

        desc = self._wait(name, region, f"table '{name}' to be ACTIVE", ok, _progress)
        assert desc is not None  # ok() raised otherwise
        self._remember_settled(name, region, desc)
        return desc

    def _remember_settled(self, name: str, region: str, desc: dict[str, Any]) -> None:
        with self._seen_lock:
            self._seen_settled[(name, region)] = desc

    def _unsettle(self, name: object) -> None:
        """Forget that table ``name`` was settled, in every region (a call may change its
        status; a replica's is the table's too); a call naming no table forgets them all."""
        with self._seen_lock:
            for key in [k for k in self._seen_settled if not name or k[0] == name]:
                del self._seen_settled[key]

    # ------------------------------------------------------------------ operations

    def _do_CreateTable(self, op: CreateTable | ReplaceTable, desired: Table | None) -> None:
        t: Table = op.after
        request = create_table_request(t)
        started = time.time()

        def made(desc: dict[str, Any] | None) -> bool:
            # CreateTable has no ClientToken: a retry after a lost answer meets
            # ResourceInUseException ("Table already exists"); the table is ours when it is
            # the one requested, made since this operation started
            if desc is None:
                return False
            if not _is_requested_table(desc, request, started - LOST_ANSWER_SECONDS):
                raise ApplyError(
                    f"table '{t.table_name}' was created by someone else while this apply "
                    "ran (its keys, indexes or creation time are not this apply's); re-run "
                    "plan to see it")
            return True

        answer = self._call(op.region, f"creating table '{t.table_name}'", "create_table",
                            took_effect=lambda: made(self._describe(t.table_name, op.region)),
                            **request)
        made_now = (answer or {}).get("TableDescription")
        if made_now is not None and _is_settled(made_now):  # an answer already ACTIVE
            self._remember_settled(t.table_name, op.region, made_now)
        self._settled(t.table_name, op.region)

    def _do_DeleteTable(self, op: DeleteTable, desired: Table | None) -> None:
        self._delete_table(op.table, op.region)

    def _delete_table(self, name: str, region: str) -> None:
        from botocore.exceptions import ClientError

        self._settled(name, region)
        try:
            self._call(region, f"deleting table '{name}'", "delete_table", TableName=name)
        except TablesmithError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, ClientError)
                    and error_code(cause) == "ResourceNotFoundException"):
                raise
        self._wait(name, region, f"table '{name}' to be deleted", lambda d: d is None)

    def _do_ReplaceTable(self, op: ReplaceTable, desired: Table | None) -> None:
        self._delete_table(op.table, op.region)
        self._do_CreateTable(op, desired)

    def _do_CreateGsi(self, op: CreateGsi, desired: Table | None) -> None:
        index = op.after
        desc = self._settled(op.table, op.region)
        # the table's current definitions plus the new index's keys: AWS needs the new keys,
        # and some implementations (moto) replace the whole list with what is sent
        attributes = {a["AttributeName"]: a["AttributeType"]
                      for a in desc.get("AttributeDefinitions", [])}
        for key in (*index.hash_keys(), *index.range_keys()):
            attributes[key.name] = key.type
        request = gsi_request(index)

        def index_made() -> bool:  # UpdateTable has no ClientToken: is the index there?
            d = self._describe(op.table, op.region) or {}
            return any(g["IndexName"] == index.name and g.get("KeySchema") ==
                       request["KeySchema"] for g in d.get("GlobalSecondaryIndexes", []))

        self._call(op.region, f"creating index '{index.name}' on '{op.table}'", "update_table",
                   took_effect=index_made, TableName=op.table,
                   AttributeDefinitions=[{"AttributeName": n, "AttributeType": t}
                                         for n, t in sorted(attributes.items())],
                   GlobalSecondaryIndexUpdates=[{"Create": request}])
        self._settled(op.table, op.region)

    def _do_DeleteGsi(self, op: DeleteGsi, desired: Table | None) -> None:
        self._settled(op.table, op.region)
        self._call(op.region, f"deleting index '{op.before.name}' of '{op.table}'",
                   "update_table", TableName=op.table,
                   GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": op.before.name}}])
        self._wait(op.table, op.region, f"index '{op.before.name}' to be deleted",
                   lambda d: d is not None and not any(
                       g["IndexName"] == op.before.name
                       for g in d.get("GlobalSecondaryIndexes", [])))
        self._settled(op.table, op.region)

    def _update_table(self, op: Any, context: str, **kwargs: Any) -> None:
        self._settled(op.table, op.region)
        self._call(op.region, f"{context} of '{op.table}' in {op.region}", "update_table",
                   TableName=op.table, **kwargs)
        self._settled(op.table, op.region)

    def _do_UpdateBillingMode(self, op: UpdateBillingMode, desired: Table | None) -> None:
        self._update_table(op, "switching billing mode", BillingMode=op.after)

    def _do_UpdateOnDemandThroughput(self, op: UpdateOnDemandThroughput,
                                     desired: Table | None) -> None:
        self._update_table(op, "updating on-demand throughput",
                           OnDemandThroughput=on_demand_throughput(op.after))

    def _do_UpdateWarmThroughput(self, op: UpdateWarmThroughput, desired: Table | None) -> None:
        what = f"raising the warm throughput of index '{op.index}'" if op.index \
            else "raising the warm throughput"
        self._update_table(op, what, **warm_throughput_update(op.index, op.after))

    def _do_UpdateTableClass(self, op: UpdateTableClass, desired: Table | None) -> None:
        self._update_table(op, "updating table class", TableClass=op.after)

    def _do_UpdateStream(self, op: UpdateStream, desired: Table | None) -> None:
        self._update_table(op, "updating the stream",
                           StreamSpecification=stream_specification(op.after))

    def _do_UpdateSse(self, op: UpdateSse, desired: Table | None) -> None:
        self._update_table(op, "updating encryption", SSESpecification=sse_specification(op.after))

    def _do_UpdateDeletionProtection(self, op: UpdateDeletionProtection,
                                     desired: Table | None) -> None:
        self._update_table(op, "updating deletion protection",
                           DeletionProtectionEnabled=op.after)

    def _do_UpdatePitr(self, op: UpdatePitr, desired: Table | None) -> None:
        self._settled(op.table, op.region)
        self._call(op.region, f"updating point-in-time recovery of '{op.table}' in {op.region}",
                   "update_continuous_backups", TableName=op.table,
                   PointInTimeRecoverySpecification=pitr_specification(op.after))

    def _do_UpdateTtl(self, op: UpdateTtl, desired: Table | None) -> None:
        from botocore.exceptions import ClientError

        self._settled(op.table, op.region)
        try:
            self._call(op.region, f"updating TTL of '{op.table}'", "update_time_to_live",
                       TableName=op.table,
                       TimeToLiveSpecification=ttl_specification(op.after, op.before))
        except TablesmithError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and "multiple times" in str(cause):
                raise ApplyError(
                    f"AWS refuses another TTL change of '{op.table}' for about an hour after "
                    "the last one; re-run apply then to finish the TTL change") from exc
            raise

    def _do_TagResource(self, op: TagResource, desired: Table | None) -> None:
        arn = self._arn(op.table, op.region)
        TAG_LIMITS["tag_resource"].acquire()
        self._call(op.region, f"tagging '{op.table}' in {op.region}", "tag_resource",
                   ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in op.after.items()])
        self._settle_tags(op.table, op.region, arn,
                          lambda tags: all(tags.get(k) == v for k, v in op.after.items()))

    def _do_UntagResource(self, op: UntagResource, desired: Table | None) -> None:
        arn = self._arn(op.table, op.region)
        TAG_LIMITS["untag_resource"].acquire()
        self._call(op.region, f"untagging '{op.table}' in {op.region}", "untag_resource",
                   ResourceArn=arn, TagKeys=sorted(op.before))
        self._settle_tags(op.table, op.region, arn,
                          lambda tags: not any(k in tags for k in op.before))

    def _settle_tags(self, name: str, region: str, arn: str,
                     shows: Callable[[dict[str, str]], bool]) -> None:
        """Re-read the table's tags until they show what was written (bounded).

        ListTagsOfResource is eventually consistent: right after TagResource it may return
        the old tags, and a plan made then would show the change again. Waiting here (one
        read when AWS is already consistent, at most ``TAG_SETTLE_SECONDS``) lets an
        immediate re-plan be empty; a settle that runs out is reported, not a failure: the
        tags were written, and the next plan sees them.
        """
        deadline = time.monotonic() + TAG_SETTLE_SECONDS
        delay = 0.2
        while True:
            tags: dict[str, str] = {}
            kwargs: dict[str, Any] = {"ResourceArn": arn}
            while True:  # ListTagsOfResource has no botocore paginator
                page = self.call("dynamodb", region, f"reading the tags of '{name}'",
                                 "list_tags_of_resource", **kwargs)
                tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
            if shows(tags):
                return
            if time.monotonic() + delay > deadline:
                self.report(name, f"the tags written are not visible yet after "
                            f"{TAG_SETTLE_SECONDS:.0f}s (ListTagsOfResource is eventually "
                            "consistent): a plan made now may still show them as a change")
                return
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _arn(self, name: str, region: str) -> str:
        return str(self._settled(name, region)["TableArn"])

    def _do_CreateReplica(self, op: CreateReplica, desired: Table | None) -> None:
        create: dict[str, Any] = ({"RegionName": op.replica_region} if desired is None
                                  else replica_create(desired, op.replica_region))
        self._settled(op.table, op.region)

        def replica_made() -> bool:  # UpdateTable has no ClientToken: is the replica there?
            d = self._describe(op.table, op.region) or {}
            return any(r["RegionName"] == op.replica_region for r in d.get("Replicas", []))

        self._call(op.region, f"creating the replica of '{op.table}' in {op.replica_region}",
                   "update_table", took_effect=replica_made, TableName=op.table,
                   ReplicaUpdates=[{"Create": create}])
        self._wait(op.table, op.region, f"replica in {op.replica_region} to be ACTIVE",
                   lambda d: d is not None and any(
                       r["RegionName"] == op.replica_region and r.get("ReplicaStatus") == "ACTIVE"
                       for r in d.get("Replicas", [])), _progress)
        self._settled(op.table, op.replica_region)  # the replica table, in its own region

    def _do_DeleteReplica(self, op: DeleteReplica, desired: Table | None) -> None:
        self._settled(op.table, op.region)

        def deleting() -> bool:  # UpdateTable has no ClientToken: is the delete under way?
            d = self._describe(op.table, op.region) or {}
            return not any(r["RegionName"] == op.replica_region
                           and r.get("ReplicaStatus") != "DELETING"
                           for r in d.get("Replicas", []))

        self._call(op.region, f"deleting the replica of '{op.table}' in {op.replica_region}",
                   "update_table", took_effect=deleting, TableName=op.table,
                   ReplicaUpdates=[{"Delete": {"RegionName": op.replica_region}}])
        self._wait(op.table, op.region, f"replica in {op.replica_region} to be deleted",
                   lambda d: d is not None and not any(
                       r["RegionName"] == op.replica_region for r in d.get("Replicas", [])),
                   _progress)

    def _do_CreateStrongReplicas(self, op: CreateStrongReplicas, desired: Table | None) -> None:
        if desired is None:
            raise ApplyError(f"no spec for '{op.table}': its MRSC replicas need its KMS keys")
        request = strong_global_table_create(desired, op.replica_regions, op.witness_region)
        self._settled(op.table, op.region)
        where = ", ".join(op.replica_regions) + (
            f" with a witness in {op.witness_region}" if op.witness_region else "")

        def made() -> bool:  # UpdateTable has no ClientToken: did the first attempt land?
            return (self._describe(op.table, op.region) or {}).get(
                "MultiRegionConsistency") == "STRONG"

        self._call(op.region, f"making '{op.table}' an MRSC global table in {where}",
                   "update_table", took_effect=made, **request)

        def active(d: dict[str, Any] | None) -> bool:
            if d is None:
                return False
            replicas = {r["RegionName"]: r.get("ReplicaStatus") for r in d.get("Replicas", [])}
            witnesses = {w["RegionName"]: w.get("WitnessStatus")
                         for w in d.get("GlobalTableWitnesses", [])}
            return (all(replicas.get(r) == "ACTIVE" for r in op.replica_regions)
                    and (op.witness_region is None
                         or witnesses.get(op.witness_region) == "ACTIVE"))

        self._wait(op.table, op.region, f"the MRSC replicas in {where} to be ACTIVE", active,
                   _progress)
        for region in op.replica_regions:  # each replica table, in its own region
            self._settled(op.table, region)

    def _do_DeleteStrongReplicas(self, op: DeleteStrongReplicas, desired: Table | None) -> None:
        self._settled(op.table, op.region)

        def deleting() -> bool:  # UpdateTable has no ClientToken: is the delete under way?
            d = self._describe(op.table, op.region) or {}
            return not any(r["RegionName"] in op.replica_regions
                           and r.get("ReplicaStatus") != "DELETING"
                           for r in d.get("Replicas", []))

        self._call(op.region, f"deleting the MRSC replicas of '{op.table}' in "
                   f"{', '.join(op.replica_regions)}", "update_table", took_effect=deleting,
                   **strong_global_table_delete(op.table, op.replica_regions, op.witness_region))

        def gone(d: dict[str, Any] | None) -> bool:
            return d is not None and not any(
                r["RegionName"] in op.replica_regions for r in d.get("Replicas", [])
            ) and not d.get("GlobalTableWitnesses")

        self._wait(op.table, op.region, f"the replicas in {', '.join(op.replica_regions)} to "
                   "be deleted", gone, _progress)


class TokenBucket:
    """A client-side rate limit: calls spaced so that at most ``rate`` start per second.

    ``acquire`` blocks until the caller may make its call; a burst of ``burst`` calls may
    start at once after a quiet spell. Thread-safe: each caller reserves its slot under the
    lock and sleeps outside it, so the appliers' threads queue in order. ``clock`` and
    ``sleep`` are injectable (tests drive a fake clock).
    """

    def __init__(self, rate: float, burst: int = 1, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)  # may go negative: slots reserved by waiting callers
        self._last = clock()

    def acquire(self) -> float:
        """Wait for a slot; the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


# DynamoDB's documented per-account limits: "You can call TagResource up to five times per
# second, per account" (and UntagResource likewise). Spaced from the first call (burst 1),
# with 10% headroom because AWS counts arrivals, not our sends (a call delayed on its way
# must not bring six into one second), 1,000 tag changes take 222 s instead of a storm of
# throttled retries; shared by every apply in this process: the limit is the account's.
TAG_CALLS_PER_SECOND = 5.0
TAG_HEADROOM = 0.9
TAG_LIMITS = {"tag_resource": TokenBucket(TAG_CALLS_PER_SECOND * TAG_HEADROOM),
              "untag_resource": TokenBucket(TAG_CALLS_PER_SECOND * TAG_HEADROOM)}
TAG_SETTLE_SECONDS = 30.0


# a create whose answer was lost made its resource moments before the retry that finds it;
# anything made longer ago than this (beyond SigV4's 5 minutes of clock skew) is not ours
LOST_ANSWER_SECONDS = 900.0


def _is_requested_table(desc: dict[str, Any], request: dict[str, Any], since: float) -> bool:
    """Is the described table the one ``request`` (CreateTable) makes, created after
    ``since`` (epoch seconds)?"""
    created = desc.get("CreationDateTime")  # a datetime, as botocore parses a timestamp
    if isinstance(created, datetime) and created.timestamp() < since:
        return False

    def indexes(items: Any) -> list[tuple[str, Any]]:
        return sorted((i["IndexName"], i["KeySchema"]) for i in items or [])

    return bool(desc.get("KeySchema") == request["KeySchema"]
                and indexes(desc.get("GlobalSecondaryIndexes")) == indexes(
                    request.get("GlobalSecondaryIndexes"))
                and indexes(desc.get("LocalSecondaryIndexes")) == indexes(
                    request.get("LocalSecondaryIndexes")))


# the table's own operations, by type (the resources around it bring theirs: the registry)
_TABLE_HANDLERS: dict[type[Op], Callable[[_Runner, Any, Table | None], None]] = {
    CreateTable: _Runner._do_CreateTable,
    DeleteTable: _Runner._do_DeleteTable,
    ReplaceTable: _Runner._do_ReplaceTable,
    CreateGsi: _Runner._do_CreateGsi,
    DeleteGsi: _Runner._do_DeleteGsi,
    UpdateBillingMode: _Runner._do_UpdateBillingMode,
    UpdateOnDemandThroughput: _Runner._do_UpdateOnDemandThroughput,
    UpdateTableClass: _Runner._do_UpdateTableClass,
    UpdateWarmThroughput: _Runner._do_UpdateWarmThroughput,
    UpdateStream: _Runner._do_UpdateStream,
    UpdateSse: _Runner._do_UpdateSse,
    UpdateDeletionProtection: _Runner._do_UpdateDeletionProtection,
    UpdatePitr: _Runner._do_UpdatePitr,
    UpdateTtl: _Runner._do_UpdateTtl,
    TagResource: _Runner._do_TagResource,
    UntagResource: _Runner._do_UntagResource,
    CreateReplica: _Runner._do_CreateReplica,
    DeleteReplica: _Runner._do_DeleteReplica,
    CreateStrongReplicas: _Runner._do_CreateStrongReplicas,
    DeleteStrongReplicas: _Runner._do_DeleteStrongReplicas,
}


@functools.cache
def _handlers() -> dict[type[Op], Callable[[_Runner, Any, Table | None], None]]:
    """Every operation type's handler: the table's, then each family's (built once: the
    registry does not change while the process runs)."""
    from tablesmith.around.registry import family_handlers

    return {**_TABLE_HANDLERS, **family_handlers()}


def _detail(op: Any) -> str:
    if op.op in ("CreateGsi",):
        return f" {op.after.name}"
    if op.op == "DeleteGsi":
        return f" {op.before.name}"
    if op.op in ("CreateReplica", "DeleteReplica"):
        return f" {op.replica_region}"
    if op.op in ("CreateStrongReplicas", "DeleteStrongReplicas"):
        witness = f" (witness {op.witness_region})" if op.witness_region else ""
        return f" {', '.join(op.replica_regions)}{witness}"
    if op.op == "UpdateWarmThroughput":
        return f" index {op.index}" if op.index else ""
    if op.op in ("TagResource", "UntagResource", "UpdatePitr", "UpdateDeletionProtection"):
        return f" ({op.region})"
    resource = getattr(op, "after", None) or getattr(op, "before", None)
    name = getattr(resource, "name", None)
    return f" {name}" if isinstance(name, str) else ""


def _progress(desc: dict[str, Any]) -> str:
    """A progress line from DescribeTable: index backfill and replica creation."""
    parts = []
    if desc.get("TableStatus") != "ACTIVE":
        parts.append(f"table {desc.get('TableStatus')}")
    total = desc.get("ItemCount", 0)
    for g in desc.get("GlobalSecondaryIndexes", []):
        status = g.get("IndexStatus")
        if status in _TRANSIENT:
            note = f"index {g['IndexName']} {status}"
            if g.get("Backfilling"):
                note += f", backfilling {g.get('ItemCount', 0)}/{total} items"
            parts.append(note)
    for r in desc.get("Replicas", []):
        if r.get("ReplicaStatus") in _TRANSIENT:
            pct = r.get("ReplicaStatusPercentProgress")
            parts.append(f"replica {r['RegionName']} {r['ReplicaStatus']}"
                         + (f" {pct}%" if pct else ""))
    return "; ".join(parts)

