"""Tags in bulk: one Resource Groups Tagging ``GetResources`` per region for an environment.

Shared by the reads of the table (``live``) and of the resources around it
(``tablesmith.around``): the tags of its tables, backup vaults and backup plans come in one
answer (100 a page) instead of a ListTags per resource.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from tablesmith.aws import aws_context
from tablesmith.errors import AwsError
from tablesmith.spec.model import OWNERSHIP_TAG

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from tablesmith.aws import Clients

# what one GetResources answers for an environment: its tables and the backup resources
# around them (GetResources does not list IAM roles: the backup role is read by IAM)
BULK_TAG_TYPES = ("dynamodb:table", "backup:backup-vault", "backup:backup-plan")


class BulkTags:
    """The tags of an environment's resources, one ``GetResources`` per region (asked once).

    ``lookup`` trusts the bulk answer only when it equals the tags wanted, and otherwise asks
    the resource's own API: the tagging API is eventually consistent and omits resources that
    were never tagged, so a difference it shows may be stale, and an absence may be "no tags".
    Without an environment (nothing to filter on) or where the tagging API cannot be used,
    every lookup is the per-resource read. Thread-safe: the reader pool shares one.
    """

    def __init__(self, clients: Clients, environment: str | None) -> None:
        self.clients = clients
        self.environment = environment
        self._regions: dict[str, dict[str, dict[str, str]] | None] = {}
        self._lock = threading.Lock()
        self.errors: dict[str, AwsError] = {}  # region -> why the bulk read failed there

    def region(self, region: str) -> dict[str, dict[str, str]] | None:
        """ARN -> tags (without ``aws:`` keys) of the environment's resources in ``region``,
        or None where the bulk read is not available."""
        with self._lock:
            if region in self._regions:
                return self._regions[region]
            found: dict[str, dict[str, str]] | None = None
            if self.environment is not None:
                try:
                    found = tagged_tables(self.clients, region,
                                          {OWNERSHIP_TAG: [self.environment]},
                                          resource_types=BULK_TAG_TYPES)
                except AwsError as exc:
                    # an emulator without the API, or credentials without tag:GetResources:
                    # the per-resource reads answer instead
                    self.errors[region] = exc
            self._regions[region] = found
            return found

    def lookup(self, region: str, arn: str, wanted: Mapping[str, str] | None,
               read: Callable[[], dict[str, str]]) -> dict[str, str]:
        """The tags of ``arn``: the bulk answer if it equals ``wanted``, else ``read()``."""
        index = self.region(region) if wanted is not None else None
        found = index.get(arn) if index is not None else None
        if found is not None and wanted is not None and found == {
                k: v for k, v in wanted.items() if not k.startswith("aws:")}:
            return dict(found)
        return read()



def tagged_tables(clients: Clients, region: str,
                  tag_filters: dict[str, list[str]] | None = None, *,
                  resource_types: Sequence[str] = ("dynamodb:table",),
                  ) -> dict[str, dict[str, str]]:
    """Table ARN -> tags of the tables of a region that carry tags (``GetResources``, 100 a
    page), only those matching ``tag_filters`` ({key: allowed values}) when given;
    ``resource_types`` may add other resources (``backup:backup-vault``, ...).

    The tagging API lists only tables that carry a tag, and is eventually consistent: a tag
    set seconds ago may not show yet.
    """
    kwargs: dict[str, Any] = {"ResourceTypeFilters": list(resource_types),
                              "ResourcesPerPage": 100}
    if tag_filters:
        kwargs["TagFilters"] = [{"Key": k, "Values": v} for k, v in sorted(tag_filters.items())]
    found: dict[str, dict[str, str]] = {}
    with aws_context(f"reading the tags of the tables in {region} (GetResources)"):
        pages = clients.client("resourcegroupstaggingapi", region).get_paginator(
            "get_resources").paginate(**kwargs)
        for page in pages:
            for entry in page.get("ResourceTagMappingList", []):
                found[entry["ResourceARN"]] = {t["Key"]: t["Value"] for t in entry.get("Tags", [])
                                               if not t["Key"].startswith("aws:")}
    return found
