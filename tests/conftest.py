"""Fixtures shared by every test: a fake AWS environment and the local emulators.

Under pytest-xdist each worker is its own process with its own session, so each worker starts
its own servers, on ports the kernel hands out (see ``servers.pick_free_port``).
"""

from __future__ import annotations

import os
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group the tests for ``pytest -n N --dist loadgroup`` (make test): a file's tests run on
    one worker, sharing its module fixtures, unless the file says ``XDIST_SPLIT``:

    * ``XDIST_SPLIT = "test"``: every test on its own (independent cases on slow engines);
    * ``XDIST_SPLIT = "<parameter>"``: one group per value of that parameter (an environment
      whose module fixture costs minutes: dev, sit and prod then build on three workers).
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        path = item.nodeid.split("::", 1)[0]
        split = getattr(getattr(item, "module", None), "XDIST_SPLIT", None)
        callspec = getattr(item, "callspec", None)
        if split == "test":
            group = item.nodeid
        elif split and callspec is not None and split in callspec.params:
            group = f"{path}[{callspec.params[split]}]"
        else:
            group = path
        item.add_marker(pytest.mark.xdist_group(group))
