"""AWS access: one boto3 session per run, reused clients, retries, errors in context.

The engine needs nothing but a :class:`Target` (region, profile, endpoint URL): real AWS
through the standard credential chain, or any endpoint (moto server, DynamoDB Local, the
embedded local target) through ``endpoint_url``.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tablesmith.errors import AwsError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import boto3

# botocore retries throttling and transient errors itself; adaptive mode also rate-limits the
# client when AWS throttles, which keeps 200 concurrent table reads from becoming a storm.
RETRY_CONFIG = {"mode": "adaptive", "max_attempts": 10}
MAX_POOL = 16


@dataclass(frozen=True)
class Target:
    """Where AWS calls go: a region, an optional profile and an optional endpoint URL."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    # the embedded local target: sign with fixed fake keys, whatever the machine holds
    static_credentials: bool = False

    @property
    def description(self) -> str:
        """Human description for progress lines."""
        where = self.endpoint_url or "AWS"
        return f"{where} ({self.region}" + (f", profile {self.profile})" if self.profile else ")")


class Clients:
    """Thread-safe cache of boto3 clients per (service, region), counting every API call."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self.calls: Counter[str] = Counter()  # "dynamodb.DescribeTable" -> count
        self._key_managers: dict[str, str] = {}
        self._kms_lock = threading.Lock()  # one DescribeKey per key, even with 16 readers
        self.gaps: dict[str, tuple[str, ...]] = {}  # region -> features the endpoint lacks

    @property
    def custom_endpoint(self) -> str | None:
        """The endpoint URL when calls do not go to AWS itself."""
        if self.target.static_credentials:
            return self.target.endpoint_url
        return self.target.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def _make_session(self) -> boto3.session.Session:
        import boto3
        from botocore.exceptions import ProfileNotFound

        if self.target.static_credentials:
            from tablesmith.local.server import LOCAL_KEY

            return boto3.session.Session(aws_access_key_id=LOCAL_KEY,
                                         aws_secret_access_key=LOCAL_KEY)
        try:
            return boto3.session.Session(profile_name=self.target.profile)
        except ProfileNotFound as exc:
            raise UsageError(f"AWS profile '{self.target.profile}' not found: {exc}") from exc

    def client(self, service: str, region: str | None = None) -> Any:
        """A botocore client for ``service`` in ``region`` (default: the target's region)."""
        region = region or self.target.region
        key = (service, region)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                from botocore.config import Config

                if self._session is None:
                    self._session = self._make_session()
                config = Config(retries=RETRY_CONFIG,  # type: ignore[arg-type]
                                max_pool_connections=MAX_POOL,
                                connect_timeout=10, read_timeout=60)
                endpoint = self.custom_endpoint
                client = self._session.client(service, region_name=region,  # type: ignore[call-overload]
                                              endpoint_url=endpoint, config=config)
                client.meta.events.register("before-call", self._count)
                self._clients[key] = client
        return client

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def dynamodb(self, region: str | None = None) -> Any:
        """The DynamoDB client for ``region``."""
        return self.client("dynamodb", region)

    def key_manager(self, key_arn: str, region: str) -> str:
        """Who manages a KMS key: "AWS" or "CUSTOMER" (cached per region and key).

        DynamoDB's AWS-managed key is the one behind ``alias/aws/dynamodb`` in the region:
        resolving that alias once per region answers for every table there.
        """
        from botocore.exceptions import ClientError

        kms = self.client("kms", region)
        with self._kms_lock:
            aws_key = self._key_managers.get(f"aws/dynamodb@{region}")
            if aws_key is None:
                try:
                    meta = kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]
                    aws_key = str(meta["Arn"])
                except ClientError:
                    aws_key = ""  # no such key yet in this region (or not allowed to look)
                self._key_managers[f"aws/dynamodb@{region}"] = aws_key
            if key_arn in (aws_key, "alias/aws/dynamodb"):
                return "AWS"
            cached = self._key_managers.get(key_arn)
            if cached is not None:
                return cached
            try:
                meta = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
                manager = str(meta.get("KeyManager", "CUSTOMER"))
            except ClientError:
                # a key we may not describe is not ours to judge: DynamoDB names a key we did
                # not choose only for its own aws/dynamodb key
                manager = "AWS"
            self._key_managers[key_arn] = manager
            return manager

    @property
    def total_calls(self) -> int:
        """How many AWS API calls were made."""
        return sum(self.calls.values())


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


@contextmanager
def aws_context(context: str) -> Iterator[None]:
    """Wrap botocore errors as :class:`AwsError` with a gerund context.

    ``with aws_context("describing table 'tenants'"): ...``
    """
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise AwsError(context, str(err.get("Code", "Unknown")),
                       str(err.get("Message", exc))) from exc
    except NoCredentialsError as exc:
        raise AwsError(context, "NoCredentials",
                       "no AWS credentials found: use --profile, the AWS_* environment "
                       "variables, or --local for the embedded local target") from exc
    except BotoCoreError as exc:
        raise AwsError(context, type(exc).__name__, str(exc)) from exc
