"""Where calls may go: which regions exist, which of them offer DynamoDB, AWS Backup and
CloudWatch, and which endpoints may receive credentials.

The answer is botocore's own endpoint data (``botocore/data/endpoints.json``), the list the
SDK itself resolves endpoints from: ``eu-west-9`` matches the shape of a region name but is
no region, and a region without AWS Backup cannot hold a table's backup vault. The file is
read directly (importing botocore would cost a validate of YAML more than the check), once,
and only when a spec is checked.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

# what tablesmith calls in a region, by botocore's endpoint prefix
SERVICES = {"dynamodb": "DynamoDB", "backup": "AWS Backup", "monitoring": "CloudWatch"}


@functools.cache
def _partitions() -> tuple[dict[str, object], ...]:
    spec = importlib.util.find_spec("botocore")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "data" / "endpoints.json"
        if path.is_file():
            data = json.loads(path.read_bytes())
            return tuple(data.get("partitions", []))
    return ()


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows (empty if botocore has no data)."""
    return frozenset(name for p in _partitions()
                     for name in p.get("regions", {}))  # type: ignore[attr-defined]


def region_problem(region: str, services: tuple[str, ...] = ("dynamodb",)) -> str | None:
    """Why ``region`` cannot hold what tablesmith puts there (None: it can)."""
    regions = known_regions()
    if not regions:
        return None  # no endpoint data to judge by: the shape check has run already
    if region not in regions:
        return f"{region} is not an AWS region (botocore knows none of that name)"
    for service in services:
        endpoints = _service_endpoints(service)
        if endpoints and region not in endpoints:
            return f"{SERVICES.get(service, service)} is not offered in {region}"
    return None


@functools.cache
def _service_endpoints(service: str) -> frozenset[str]:
    found: set[str] = set()
    for partition in _partitions():
        services = partition.get("services", {})
        entry = services.get(service, {}) if isinstance(services, dict) else {}
        found.update(entry.get("endpoints", {}) if isinstance(entry, dict) else {})
    return frozenset(found)


def nearest(region: str) -> str:
    """A hint: the closest known region names."""
    import difflib

    close = difflib.get_close_matches(region, sorted(known_regions()), n=3, cutoff=0.6)
    return f"did you mean {' or '.join(close)}?" if close else "e.g. eu-west-1"


def endpoint_problem(url: str) -> str | None:
    """Why AWS calls must not go to ``url`` (None: they may).

    An endpoint that is not on this machine must be https: request signatures and session
    tokens would otherwise cross the network in clear text.
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"{url} is not a URL"
    if parts.scheme not in ("http", "https") or not host:
        return f"{url} is not an http(s) URL"
    if parts.scheme == "http" and not _is_loopback(host):
        return (f"{url} is not on this machine and not https: AWS credentials would cross "
                "the network in clear text")
    return None


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def partition(region: str) -> str:
    """The ARN partition of a Region (AWS General Reference, "Amazon Resource Names"): aws,
    aws-cn or aws-us-gov."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
