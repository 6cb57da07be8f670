"""A moto server whose IAM enforcement also checks the Resource of each statement.

Run as ``python tests/moto_iam_server.py -H 127.0.0.1 -p PORT`` with
``INITIAL_NO_AUTH_ACTION_COUNT`` set (``servers.start_moto_iam``). moto 5.2 enforces
identity policies once that many requests were served, but it checks every statement against
the resource ``"*"`` (``BaseResponse.call_action`` asks ``_determine_resource``, which only
IAM roles, STS AssumeRole and SQS define), so a statement scoped to an ARN never matches and a
least-privilege policy would be refused whole. It also names an action by the request's
signing name, which for two services is not IAM's prefix (``monitoring:`` for CloudWatch,
``tagging:`` for the tagging API). Before serving, this module adds the resource of the calls
tablesmith makes, so that a policy is enforced as IAM would:

* DynamoDB: ``TableName`` -> the table's ARN; ``ResourceArn`` (tags) as given;
* CloudWatch: ``AlarmName`` / the one name of ``AlarmNames`` -> the alarm's ARN;
* IAM: ``RoleName`` -> the role's ARN, also for a role that does not exist yet (CreateRole);

and maps ``monitoring``/``tagging`` to ``cloudwatch``/``tag``. Calls without one of these
keep ``"*"`` (ListTables, DescribeAlarms, GetResources…). AWS Backup is left as moto has it:
under enforcement moto 5.2.5 answers its REST calls ``SignatureDoesNotMatch`` (measured), so
the least-privilege test runs with backup off. Conditions are moto's: only ``StringEquals``
is evaluated, and a key the request does not carry passes.
"""

from __future__ import annotations

import sys
from typing import Any

from moto import server
from moto.cloudwatch.responses import CloudWatchResponse
from moto.dynamodb.responses import DynamoHandler
from moto.iam import access_control
from moto.iam.responses import IamResponse

IAM_PREFIXES = {"monitoring": "cloudwatch", "tagging": "tag"}  # signing name -> IAM prefix


def _param(handler: Any, name: str) -> Any:
    try:
        return handler._get_param(name)
    except Exception:  # a call whose parameters do not parse this way: no resource
        return None


def _dynamodb_resource(self: Any) -> str:
    arn = _param(self, "ResourceArn")
    if isinstance(arn, str):
        return arn
    name = _param(self, "TableName")
    if isinstance(name, str) and not name.startswith("arn:"):
        return f"arn:aws:dynamodb:{self.region}:{self.current_account}:table/{name}"
    return name if isinstance(name, str) else "*"


def _cloudwatch_resource(self: Any) -> str:
    name = _param(self, "AlarmName")
    names = _param(self, "AlarmNames")
    if not isinstance(name, str) and isinstance(names, list) and len(names) == 1:
        name = names[0]
    if isinstance(name, str):
        return f"arn:aws:cloudwatch:{self.region}:{self.current_account}:alarm:{name}"
    return "*"


_moto_iam_resource = IamResponse._determine_resource


def _iam_resource(self: Any) -> str:
    found = str(_moto_iam_resource(self))
    name = _param(self, "RoleName")
    if found == "*" and isinstance(name, str):
        return f"arn:aws:iam::{self.current_account}:role/{name}"
    return found


_moto_request_init = access_control.IAMRequestBase.__init__


def _request_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _moto_request_init(self, *args, **kwargs)
    service, _, action = self._action.partition(":")
    self._action = f"{IAM_PREFIXES.get(service, service)}:{action}"


def install() -> None:
    """Give moto's enforcement the resources and IAM prefixes of tablesmith's calls."""
    DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]
    CloudWatchResponse._determine_resource = _cloudwatch_resource  # type: ignore[attr-defined]
    IamResponse._determine_resource = _iam_resource  # type: ignore[method-assign]
    access_control.IAMRequestBase.__init__ = _request_init  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    server.main(sys.argv[1:])
