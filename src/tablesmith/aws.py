"""AWS access: one boto3 session per run, reused clients, retries, errors in context.

The engine needs nothing but a :class:`Target` (region, profile, endpoint URL): real AWS
through the standard credential chain, or any endpoint (moto server, DynamoDB Local, the
embedded local target) through ``endpoint_url``. The embedded local target's endpoint and
access key are handed over by the entry point that started it (:class:`LocalAccess`,
``engine.resolve_target``): this module never imports the emulator.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tablesmith.errors import AwsError, LocalTargetError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import boto3
    from botocore.loaders import Loader

# botocore retries throttling and transient errors itself; adaptive mode also rate-limits the
# client when AWS throttles, which keeps 200 concurrent table reads from becoming a storm.
RETRY_CONFIG = {"mode": "adaptive", "max_attempts": 10}
MAX_POOL = 16


# the services a plan or an apply calls (tables, tags, alarms, AWS Backup and its role, KMS
# keys, the account): the ones ``preload`` readies
SERVICES = ("sts", "dynamodb", "resourcegroupstaggingapi", "cloudwatch", "backup", "iam", "kms")
# data_path -> botocore's loader: every session of the process shares one, so each model file
# is read and parsed once per process instead of once per session
_LOADERS: dict[str | None, Any] = {}
_LOADERS_LOCK = threading.Lock()


def _botocore_session() -> Any:
    """A new botocore session that shares the process's model loader."""
    import botocore.loaders
    import botocore.session

    session = botocore.session.Session()
    data_path = session.get_config_variable("data_path")
    with _LOADERS_LOCK:
        loader = _LOADERS.get(data_path)
        if loader is None:
            # as botocore.loaders.create_loader reads AWS_DATA_PATH: ~ and $VARS expanded
            paths = [os.path.expanduser(os.path.expandvars(path))
                     for path in data_path.split(os.pathsep)] if data_path else []
            loader = _LOADERS[data_path] = direct_lookup(botocore.loaders.Loader)(
                extra_search_paths=paths)
    session.register_component("data_loader", loader)
    return session


@functools.cache
def direct_lookup(base: type[Loader]) -> type[Loader]:
    """``base`` (botocore's model loader, or one derived from it) finding a service's model
    in that service's own folders.

    botocore's ``load_service_model`` first lists every service folder of every search path
    (~450 services: ~600 directory listings and ~1,700 file checks, 20-50 ms per model type
    and process) only to check that the one asked for exists, which the service's own folders
    also say. The model, its version (the latest) and its extras are botocore's; an unknown
    service still gets botocore's own error.
    """
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import instance_cache

    class DirectLookup(base):  # type: ignore[valid-type,misc]
        @instance_cache
        def load_service_model(self, service_name: str, type_name: str,
                               api_version: str | None = None) -> Any:
            if api_version is not None:
                return super().load_service_model(service_name, type_name, api_version)
            try:
                api_version = self.determine_latest_version(service_name, type_name)
            except DataNotFoundError:  # no such service: botocore's listing and error
                return super().load_service_model(service_name, type_name)
            model = self.load_data(os.path.join(service_name, api_version, type_name))
            extras = self._find_extras(service_name, type_name, api_version)
            self._extras_processor.process(model, extras)
            return model

    DirectLookup.__name__ = DirectLookup.__qualname__ = f"DirectLookup{base.__name__}"
    return DirectLookup


def preload(services: tuple[str, ...] = SERVICES) -> None:
    """Read botocore's models of ``services`` now (into the shared loader), so that the
    clients made later cost no file reads: for time that would otherwise be spent waiting,
    such as a local target starting in its helper process. Nothing is called."""
    import boto3

    session = boto3.session.Session(botocore_session=_botocore_session(),
                                    aws_access_key_id="preload", aws_secret_access_key="x")
    for service in services:
        session.client(service, region_name="us-east-1",  # type: ignore[call-overload]
                       endpoint_url="http://127.0.0.1:9")


@dataclass(frozen=True)
class LocalAccess:
    """The embedded local target as the command that started it hands it over: its endpoint,
    checked to be on loopback, and the access key of its state directory."""

    endpoint: str
    access_key: str = field(repr=False)  # the state directory's secret: never in a repr


@dataclass(frozen=True)
class Target:
    """Where AWS calls go: a region, an optional profile and an optional endpoint URL."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    # the embedded local target: sign with its state directory's access key, whatever the
    # machine holds, and only ever call its loopback endpoint
    static_credentials: bool = False
    state_dir: str | None = None  # the embedded local target's state directory
    # the embedded local target's checked endpoint and key (None: calls to it are refused)
    local: LocalAccess | None = None
    # which of "endpoint" and "profile" the spec's environment chose (not a flag or the
    # environment variables): shown in plans, since a spec can send credentials elsewhere
    from_spec: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        """Human description for progress lines."""
        where = self.endpoint_url or "AWS"
        return f"{where} ({self.region}" + (f", profile {self.profile})" if self.profile else ")")


class _NoGaps(dict[str, tuple[str, ...]]):
    """The embedded local target's gaps: none, in every region, so nothing is probed.

    It is moto with tablesmith's extensions, which serve every feature the probes ask about
    (tags, PITR, AWS Backup, CloudWatch); probing would cost four calls per region.
    """

    def get(self, key: str, default: Any = None) -> tuple[str, ...]:
        return super().get(key, ())


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
        # region -> features the endpoint lacks (probed once per region, live.endpoint_gaps)
        self.gaps: dict[str, tuple[str, ...]] = _NoGaps() if target.static_credentials else {}
        self._account: str | None = None  # "" once asked and the endpoint has no STS

    @property
    def custom_endpoint(self) -> str | None:
        """The endpoint URL when calls do not go to AWS itself."""
        if self.target.static_credentials:
            # the local target's endpoint, never AWS_ENDPOINT_URL, never AWS; one not handed
            # over is only named here: every client for it is refused (``_make_session``)
            local = self.target.local
            return local.endpoint if local is not None else self.target.endpoint_url
        return self.target.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def _local(self) -> LocalAccess:
        """The local target as handed over, for the endpoint the target names."""
        local, endpoint = self.target.local, self.target.endpoint_url
        if local is None or local.endpoint != endpoint:
            raise LocalTargetError(f"the local target's endpoint {endpoint!r} was not handed "
                                   "over, checked and with its access key, by the command "
                                   "that started it: refusing to send requests there")
        return local

    def _make_session(self) -> boto3.session.Session:
        import boto3
        from botocore.exceptions import ProfileNotFound

        if self.target.static_credentials:
            key = self._local().access_key
            return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=key,
                                         botocore_session=_botocore_session())
        try:
            return boto3.session.Session(profile_name=self.target.profile,
                                         botocore_session=_botocore_session())
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
        """Who manages a KMS key for DynamoDB: "AWS" or "CUSTOMER" (cached per region and key).

        Only DynamoDB's own AWS-managed key, the one behind ``alias/aws/dynamodb`` in the
        region, counts as "AWS": resolving that alias once per region answers for every table
        there. Any other key, including one we may not describe, is a customer key, so a table
        moved to a foreign key shows as drift instead of passing for AWS-managed.
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
            if aws_key:
                return "CUSTOMER"  # the region's aws/dynamodb key is known, and not this one
            cached = self._key_managers.get(key_arn)
            if cached is not None:
                return cached
            try:  # the alias could not be read: ask the key itself whether it is that one
                meta = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
                manager = "AWS" if meta.get("KeyManager") == "AWS" and "dynamodb" in str(
                    meta.get("Description", "")).lower() else "CUSTOMER"
            except ClientError:
                manager = "CUSTOMER"  # unknown is not AWS's: better a drift than a blind spot
            self._key_managers[key_arn] = manager
            return manager

    def account_id(self) -> str | None:
        """The account the credentials belong to (STS GetCallerIdentity, asked once).

        None for an endpoint without STS (DynamoDB Local answers it with a DynamoDB error,
        not even STS's XML): asked there once, without retries. Real AWS must answer.
        """
        if self._account is not None:
            return self._account or None
        if self.custom_endpoint is None:
            with aws_context("reading the caller identity (STS GetCallerIdentity)"):
                self._account = str(self.client("sts").get_caller_identity()["Account"])
            return self._account
        from botocore.config import Config
        from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

        with self._lock:
            if self._session is None:
                self._session = self._make_session()
        # the same session and endpoint, short timeouts; botocore's standard retries cover a
        # throttle or a 5xx, and one that outlasts them is an error, never "no STS": caching
        # that would drop the account from every trust policy of the run
        sts = self._session.client(
            "sts", region_name=self.target.region, endpoint_url=self.custom_endpoint,
            config=Config(retries={"mode": "standard", "total_max_attempts": 4},
                          connect_timeout=5, read_timeout=10))
        sts.meta.events.register("before-call", self._count)
        try:
            self._account = str(sts.get_caller_identity()["Account"])
        except (ConnectionError, HTTPClientError) as exc:
            raise AwsError("reading the caller identity (STS GetCallerIdentity)",
                           "ConnectionError", str(exc)) from exc
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status >= 500 or status == 429 or "Throttl" in error_code(exc):
                with aws_context("reading the caller identity (STS GetCallerIdentity)"):
                    raise
            self._account = ""  # an answer, but not an identity: no STS at this endpoint
        except Exception:  # an unparseable answer: not STS either
            self._account = ""
        return self._account or None

    @property
    def total_calls(self) -> int:
        """How many AWS API calls were made."""
        return sum(self.calls.values())


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return _error_fields(response)[0]
    return ""


# the codes AWS answers when a policy does not allow the call (DynamoDB, Backup and KMS say
# AccessDeniedException; IAM, STS, CloudWatch and the tagging API AccessDenied)
ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
_XML_CODE = re.compile(r"<Code>([^<]+)</Code>")
_XML_MESSAGE = re.compile(r"<Message>([^<]*)</Message>")
_DENIED_ACTION = re.compile(r"not authorized to perform: ([A-Za-z0-9-]+:[A-Za-z0-9]+)")


def _error_fields(response: dict[str, Any]) -> tuple[str, str]:
    """(code, message) of an error response. An endpoint that answers a JSON-protocol call
    with an XML error body (moto's IAM enforcement does) leaves botocore with the HTTP status
    as the code and the XML as the message: the real code and message are read from it."""
    err = response.get("Error", {})
    code, message = str(err.get("Code", "Unknown")), str(err.get("Message", ""))
    if code.isdigit() and (found := _XML_CODE.search(message)):
        text = _XML_MESSAGE.search(message)
        code, message = found.group(1), text.group(1) if text else message
    return code, message


def denied_action(message: str) -> str | None:
    """The IAM action an access-denied message names ("... not authorized to perform: X")."""
    found = _DENIED_ACTION.search(message)
    return found.group(1) if found else None


@contextmanager
def aws_context(context: str) -> Iterator[None]:
    """Wrap botocore errors as :class:`AwsError` with a gerund context.

    ``with aws_context("describing table 'tenants'"): ...``
    """
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except ClientError as exc:
        code, message = _error_fields(dict(exc.response))
        if code in ACCESS_DENIED:
            missing = denied_action(message) or "a permission"
            message = (f"{message or exc} (the credentials lack {missing}; `tablesmith "
                       "iam-policy PATH --env ENV` prints what tablesmith needs)")
        raise AwsError(context, code, message or str(exc)) from exc
    except NoCredentialsError as exc:
        raise AwsError(context, "NoCredentials",
                       "no AWS credentials found: use --profile, the AWS_* environment "
                       "variables, or --local for the embedded local target") from exc
    except BotoCoreError as exc:
        raise AwsError(context, type(exc).__name__, str(exc)) from exc
