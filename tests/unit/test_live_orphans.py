"""Looking for owned tables that left the spec (every plan does) with credentials that may not
search tags: a notice for a plan, an error for --prune, which must know what it deletes."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tablesmith.aws import Clients, Target
from tablesmith.errors import AwsError
from tablesmith.live import read_live

REGION = "af-south-1"


class Denied:
    """A tagging client whose every page is refused (no tag:GetResources)."""

    def get_paginator(self, name: str) -> Denied:
        return self

    def paginate(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                          "GetResources")


def clients() -> Clients:
    made = Clients(Target(region=REGION))  # real AWS: no endpoint probes
    made._clients[("resourcegroupstaggingapi", REGION)] = Denied()
    made._clients[("dynamodb", REGION)] = object()  # never called: nothing else to read
    return made


def test_a_plan_notes_what_it_could_not_look_for() -> None:
    live = read_live(clients(), [], region=REGION, prune_environment="dev")
    assert live.orphans == ()
    assert len(live.notes) == 1 and "grant tag:GetResources" in live.notes[0]


def test_prune_needs_to_know_and_fails() -> None:
    with pytest.raises(AwsError) as raised:
        read_live(clients(), [], region=REGION, prune_environment="dev", prune=True)
    assert raised.value.code == "AccessDeniedException"
