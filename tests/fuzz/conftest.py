"""Fixtures of the differential fuzz test: its own DynamoDB Local, and the run's tally."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

import servers

if TYPE_CHECKING:
    from collections.abc import Iterator

STATS_ENV = "TABLESMITH_FUZZ_STATS"  # a file to write the run's counts to (make fuzz sets it)


@pytest.fixture(scope="module")
def fuzz_dynamodb(fake_aws_env: None) -> Iterator[Any]:
    """A client of a DynamoDB Local of the fuzz test's own (no other test's tables in it).

    botocore's parameter validation is off here on purpose: the question is what DynamoDB
    itself accepts, so every request must reach it (the botocore model has its own test).
    """
    try:
        server = servers.start_dynamodb_local()
    except servers.DynamoDBLocalUnavailable as missing:
        pytest.skip(str(missing))
    with server:
        yield boto3.client(
            "dynamodb",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            config=Config(
                parameter_validation=False, retries={"max_attempts": 2, "mode": "standard"}
            ),
        )


@pytest.fixture(scope="module")
def tally() -> Iterator[Counter[str]]:
    """Counts of the run's outcomes, printed (and written to $TABLESMITH_FUZZ_STATS) at the end.

    Hypothesis runs some examples more than once (replays, shrinking): they count each time.
    """
    counts: Counter[str] = Counter()
    yield counts
    summary = {
        "cases": sum(v for k, v in counts.items() if k.startswith("case:")),
        **dict(sorted(counts.items())),
    }
    print(f"\ndifferential fuzz: {json.dumps(summary)}")
    target = os.environ.get(STATS_ENV)
    if target:
        Path(target).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
