"""One apply at a time per environment and target.

Two pipelines applying the same environment at once would interleave their UpdateTable calls
and each plan from a state the other is changing. ``apply`` and ``destroy`` therefore hold a
lock from before they read the live state until they are done:

* **On AWS** (the default for real accounts) the lock is a *lease*: an item in a DynamoDB
  table (``conventions.lock.table``, default ``tablesmith-locks``; created on first use,
  on-demand, PITR on, TTL on ``ExpiresAt``), written with a conditional put that succeeds
  only if no live lease holds the key. The holder renews it every third of the lease
  (``conventions.lock.lease_seconds``); a holder that dies lets it expire.
  ``tablesmith force-unlock PATH --env ENV LEASE_ID`` removes one by hand.
* **On the local target and other endpoints** the lock is a file lock (``flock``) in the
  local state directory or in a private per-user directory: the kernel releases it when the
  holder dies, so there is nothing to force.

A second apply waits up to ``--lock-timeout`` seconds (default 0: fail at once) and its
message names the holder: who, on which host, since when, running which command.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tablesmith.aws import aws_context, error_code
from tablesmith.errors import LockHeld

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tablesmith.aws import Clients
    from tablesmith.plan import PlanTarget
    from tablesmith.spec.model import LockSettings

_POLL = 1.0


@dataclass(frozen=True)
class Holder:
    """Who holds (or asks for) a lock."""

    lease_id: str
    who: str
    host: str
    pid: int
    command: str
    since: float

    def describe(self) -> str:
        """One line naming the holder."""
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.since))
        return (f"{self.who}@{self.host} (pid {self.pid}) since {when}, running "
                f"`{self.command}` (lease {self.lease_id})")


def me(command: str) -> Holder:
    """This process as a lock holder."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = str(os.getuid())
    return Holder(lease_id=uuid.uuid4().hex[:12], who=who, host=socket.gethostname(),
                  pid=os.getpid(), command=command, since=time.time())


def lock_key(environment: str, target: PlanTarget) -> str:
    """What one lock covers: an environment at one target."""
    where = target.endpoint or target.state_dir or "aws"
    return f"{environment}@{target.account or '-'}/{target.region}/{where}"


@contextlib.contextmanager
def hold(clients: Clients, environment: str, target: PlanTarget, settings: LockSettings,
         *, command: str, timeout: float = 0.0) -> Iterator[Holder | None]:
    """Hold the environment's lock while the block runs (None: locking is off)."""
    mode = settings.mode
    if mode == "off":
        yield None
        return
    if mode == "auto":
        mode = "table" if target.kind == "aws" else "file"
    key = lock_key(environment, target)
    holder = me(command)
    if mode == "table":
        with _TableLease(clients, target.region, settings, key, holder).held(timeout):
            yield holder
    else:
        with _file_lock(_lock_file(target, key), holder, timeout):
            yield holder


# --------------------------------------------------------------------------- file locks


def _lock_file(target: PlanTarget, key: str) -> Path:
    if target.kind == "local" and target.state_dir:
        return Path(target.state_dir) / "apply.lock"
    # a per-user private directory: another user can neither hold nor read our locks
    base = Path(tempfile.gettempdir()) / f"tablesmith-{os.getuid()}" / "locks"
    from tablesmith.local.safefs import check_directory, private_directory

    private_directory(base.parent)
    private_directory(base)
    check_directory(base)
    return base / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".lock")


@contextlib.contextmanager
def _file_lock(path: Path, holder: Holder, timeout: float) -> Iterator[None]:
    from tablesmith.local.safefs import open_lock

    handle = open_lock(path)  # 0600, O_NOFOLLOW, in a directory of ours
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockHeld(_held_message(_read_holder(path), timeout)) from None
                time.sleep(min(_POLL, max(0.05, deadline - time.monotonic())))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(holder.__dict__))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def _read_holder(path: Path) -> Holder | None:
    from tablesmith.local.safefs import read_private

    try:
        data = read_private(path)
        return Holder(**json.loads(data or b"")) if data else None
    except (ValueError, TypeError, OSError):
        return None


def _held_message(holder: Holder | None, timeout: float) -> str:
    who = holder.describe() if holder else "another tablesmith process"
    waited = f" (waited {timeout:g}s)" if timeout else ""
    return (f"another apply or destroy holds this environment's lock{waited}: {who}; "
            "try again when it has finished, or pass --lock-timeout SECONDS to wait")


# --------------------------------------------------------------------------- leases


class _TableLease:
    """A lease item in the lock table: conditional put, renewal, conditional delete."""

    def __init__(self, clients: Clients, region: str, settings: LockSettings, key: str,
                 holder: Holder) -> None:
        self.ddb = clients.dynamodb(region)
        self.region = region
        self.table = settings.table
        self.lease = settings.lease_seconds
        self.key = key
        self.holder = holder
        self._stop = threading.Event()

    @contextlib.contextmanager
    def held(self, timeout: float) -> Iterator[None]:
        self._ensure_table()
        deadline = time.monotonic() + timeout
        while not self._try_put():
            if time.monotonic() >= deadline:
                raise LockHeld(_held_message(self._current(), timeout))
            time.sleep(_POLL)
        renewer = threading.Thread(target=self._renew, daemon=True, name="tablesmith-lease")
        renewer.start()
        try:
            yield
        finally:
            self._stop.set()
            renewer.join(5)
            self._release()

    def _item(self) -> dict[str, Any]:
        h = self.holder
        return {"LockKey": {"S": self.key}, "LeaseId": {"S": h.lease_id},
                "Who": {"S": h.who}, "Host": {"S": h.host}, "Pid": {"N": str(h.pid)},
                "Command": {"S": h.command[:1000]}, "Since": {"N": f"{h.since:.3f}"},
                "ExpiresAt": {"N": str(int(time.time() + self.lease))}}

    def _try_put(self) -> bool:
        from botocore.exceptions import ClientError

        with aws_context(f"taking the lock '{self.key}' in table '{self.table}'"):
            try:
                self.ddb.put_item(
                    TableName=self.table, Item=self._item(),
                    # free, or its holder stopped renewing it (died)
                    ConditionExpression="attribute_not_exists(LockKey) OR ExpiresAt < :now",
                    ExpressionAttributeValues={":now": {"N": str(int(time.time()))}})
                return True
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    return False
                raise

    def _renew(self) -> None:
        while not self._stop.wait(self.lease / 3):
            # a missed renewal is retried at the next tick; the lease outlives two of them
            with contextlib.suppress(Exception):
                self.ddb.update_item(
                    TableName=self.table, Key={"LockKey": {"S": self.key}},
                    UpdateExpression="SET ExpiresAt = :exp",
                    ConditionExpression="LeaseId = :id",
                    ExpressionAttributeValues={
                        ":exp": {"N": str(int(time.time() + self.lease))},
                        ":id": {"S": self.holder.lease_id}})

    def _release(self) -> None:
        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):  # already gone (forced, or expired and taken)
            self.ddb.delete_item(TableName=self.table, Key={"LockKey": {"S": self.key}},
                                 ConditionExpression="LeaseId = :id",
                                 ExpressionAttributeValues={":id": {"S": self.holder.lease_id}})

    def _current(self) -> Holder | None:
        with aws_context(f"reading the lock '{self.key}'"):
            item = self.ddb.get_item(TableName=self.table, Key={"LockKey": {"S": self.key}},
                                     ConsistentRead=True).get("Item")
        return _holder_of(item)

    def _ensure_table(self) -> None:
        from botocore.exceptions import ClientError

        with aws_context(f"creating the lock table '{self.table}' in {self.region}"):
            try:
                self.ddb.describe_table(TableName=self.table)
                return
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
            try:
                self.ddb.create_table(
                    TableName=self.table, BillingMode="PAY_PER_REQUEST",
                    KeySchema=[{"AttributeName": "LockKey", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "LockKey", "AttributeType": "S"}],
                    Tags=[{"Key": "ManagedBy", "Value": "tablesmith"},
                          {"Key": "Component", "Value": "lock"}])
            except ClientError as exc:
                if error_code(exc) != "ResourceInUseException":  # another process made it
                    raise
            self.ddb.get_waiter("table_exists").wait(
                TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
            # a lease table is small but holds who changed what: keep its history, and let
            # DynamoDB drop the expired leases of holders that died
            with contextlib.suppress(ClientError):
                self.ddb.update_continuous_backups(
                    TableName=self.table,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
            with contextlib.suppress(ClientError):
                self.ddb.update_time_to_live(TableName=self.table, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": "ExpiresAt"})


def _holder_of(item: dict[str, Any] | None) -> Holder | None:
    if not item:
        return None
    try:
        return Holder(lease_id=item["LeaseId"]["S"], who=item["Who"]["S"],
                      host=item["Host"]["S"], pid=int(item["Pid"]["N"]),
                      command=item["Command"]["S"], since=float(item["Since"]["N"]))
    except (KeyError, ValueError):
        return None


def force_unlock(clients: Clients, target: PlanTarget, settings: LockSettings,
                 lease_id: str) -> Holder:
    """Remove the lease ``lease_id`` from the lock table; the holder it named."""
    from botocore.exceptions import ClientError

    ddb = clients.dynamodb(target.region)
    with aws_context(f"reading the lock table '{settings.table}'"):
        pages = ddb.get_paginator("scan").paginate(
            TableName=settings.table, FilterExpression="LeaseId = :id",
            ExpressionAttributeValues={":id": {"S": lease_id}}, ConsistentRead=True)
        items = [i for page in pages for i in page.get("Items", [])]
    holder = _holder_of(items[0]) if items else None
    if not items or holder is None:
        from tablesmith.errors import UsageError

        raise UsageError(f"no lease {lease_id} in the lock table '{settings.table}' "
                         f"({target.region}); it may have been released or expired")
    with aws_context(f"removing the lease {lease_id}"), contextlib.suppress(ClientError):
        ddb.delete_item(TableName=settings.table, Key={"LockKey": items[0]["LockKey"]},
                        ConditionExpression="LeaseId = :id",
                        ExpressionAttributeValues={":id": {"S": lease_id}})
    return holder
