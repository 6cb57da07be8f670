"""Fixtures shared by every test: a fake AWS environment and the local emulators.

Under pytest-xdist each worker is its own process with its own session, so each worker starts
its own servers, on ports the kernel hands out (see ``servers.pick_free_port``).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import pytest

import servers  # tests/ has no __init__.py: pytest (import mode "prepend") puts it on sys.path

if TYPE_CHECKING:
    from collections.abc import Iterator

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "af-south-1",
}


@pytest.fixture(scope="session", autouse=True)
def fake_aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fake credentials and region, and nothing inherited that could reach a real account.

    Every inherited ``AWS_*`` variable goes (AWS_PROFILE, AWS_SESSION_TOKEN, AWS_ROLE_ARN,
    AWS_ENDPOINT_URL and its per-service forms, container and web-identity credentials, …),
    and the config and credentials files point at paths that do not exist, so botocore's
    credential chain can only find the fake keys.
    """
    missing = tmp_path_factory.mktemp("no-aws-config")
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("AWS_")]:
            patch.delenv(name)
        for name, value in FAKE_AWS_ENV.items():
            patch.setenv(name, value)
        patch.setenv("AWS_CONFIG_FILE", str(missing / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing / "credentials"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never probe 169.254.169.254
        # Calls to 127.0.0.1 must never go through a proxy named in the environment.
        for name in ("NO_PROXY", "no_proxy"):
            patch.setenv(name, ",".join(filter(None, [os.environ.get(name), servers.LOOPBACK])))
        yield


@pytest.fixture(autouse=True)
def fresh_boto3_session() -> Iterator[None]:
    """Each test's ``boto3.client(...)`` reads the credentials the test set.

    boto3's default session resolves credentials once and keeps them; the local target wants
    its own access key (set per test), and DynamoDB Local keeps one database per access key,
    so a session left over from an earlier test in the worker would sign for the wrong one.
    """
    import boto3

    boto3.DEFAULT_SESSION = None
    yield
    boto3.DEFAULT_SESSION = None


@pytest.fixture(scope="session")
def moto_endpoint(fake_aws_env: None) -> Iterator[str]:
    """URL of this worker's moto server (state is shared by the session; see ``moto_fresh``)."""
    with servers.start_moto() as server:
        yield server.endpoint


@pytest.fixture
def moto_fresh(moto_endpoint: str) -> str:
    """URL of this worker's moto server, emptied of every resource before the test."""
    servers.reset_moto(moto_endpoint)
    return moto_endpoint


@pytest.fixture(scope="session")
def dynamodb_local_endpoint(fake_aws_env: None) -> Iterator[str]:
    """URL of this worker's in-memory DynamoDB Local, run with ``-delayTransientStatuses``.

    Skips the test when Java or the jar is missing (``make tools`` installs the jar).
    """
    try:
        server = servers.start_dynamodb_local(delay_transient_statuses=True)
    except servers.DynamoDBLocalUnavailable as missing:
        pytest.skip(str(missing))
    with server:
        yield server.endpoint


# How ``make test`` spreads the suite over its workers (``pytest -n 4 --dist loadscope``, with
# the scheduler below): a file's tests run on one worker, sharing its module fixtures, except
# in these files, which are slow and split:
#   "test": every test on its own (independent cases on slow engines);
#   "param": one unit per parameter id (test_x[prod]): an environment whose module fixture
#            costs minutes, so that dev, sit and prod build on three workers at once.
SPLIT_SCOPES = {
    "tests/acceptance/test_differential.py": "param",
    "tests/acceptance/test_gsi.py": "test",
    "tests/acceptance/test_interrupt.py": "test",
    "tests/acceptance/test_stream_ttl.py": "test",
    "tests/acceptance/test_table.py": "test",
}
_PARAM_ID = re.compile(r"\[([^\]]*)\]$")


def xdist_scope(nodeid: str) -> str:
    """The unit of work ``nodeid`` belongs to (see SPLIT_SCOPES)."""
    path = nodeid.split("::", 1)[0]
    split = SPLIT_SCOPES.get(path)
    if split == "test":
        return nodeid
    param = _PARAM_ID.search(nodeid)
    if split == "param" and param is not None:
        return f"{path}[{param.group(1)}]"
    return path


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """``--dist loadscope`` with the units of ``xdist_scope``.

    (xdist's own ``loadgroup`` marks do not work with pytest 9.2, whose node IDs xdist can no
    longer suffix with the group.)
    """
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SplitScopes(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return SplitScopes(config, log)
