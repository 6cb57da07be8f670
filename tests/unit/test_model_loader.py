"""The botocore model loader tablesmith's sessions and the local target's moto share
(``aws.direct_lookup``): botocore's models, found without listing every service first."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader
from moto.core.loaders import Loader as MotoLoader
from moto.core.loaders import moto_root

from tablesmith.aws import SERVICES, _botocore_session, direct_lookup
from tablesmith.local.snapshot import SERVICES as LOCAL_SERVICES

TYPES = ("service-2", "paginators-1", "waiters-2")
BASES: list[tuple[type[Loader], dict[str, Any]]] = [  # (botocore's Loader extends the list)
    (Loader, {}), (MotoLoader, {"extra_search_paths": (moto_root,)})]


def _fresh(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: list(value) for name, value in kwargs.items()}


def _load(loader: Loader, service: str, type_name: str) -> Any:
    try:
        return loader.load_service_model(service, type_name)
    except Exception as exc:  # what botocore raises is compared too
        return type(exc).__name__


@pytest.mark.parametrize(("base", "kwargs"), BASES, ids=["botocore", "moto"])
def test_the_models_and_errors_are_botocores_own(base: type[Loader],
                                                 kwargs: dict[str, Any]) -> None:
    services = sorted({*SERVICES, *LOCAL_SERVICES, "no-such-service"})
    direct, botocores = direct_lookup(base)(**_fresh(kwargs)), base(**_fresh(kwargs))
    for service in services:
        for type_name in TYPES:
            assert _load(direct, service, type_name) == _load(botocores, service, type_name), (
                service, type_name)
    with pytest.raises(UnknownServiceError, match="Valid service names are"):
        direct_lookup(base)(**_fresh(kwargs)).load_service_model("no-such-service", "service-2")


@pytest.mark.parametrize(("base", "kwargs"), BASES, ids=["botocore", "moto"])
def test_a_known_service_lists_no_other(base: type[Loader], kwargs: dict[str, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def everything(*_: object) -> list[str]:
        raise AssertionError("listed every service to find one")

    monkeypatch.setattr(base, "list_available_services", everything)
    loader = direct_lookup(base)(**_fresh(kwargs))
    for service in SERVICES:
        assert loader.load_service_model(service, "service-2")["metadata"]
    assert loader.load_service_model("dynamodb", "paginators-1")["pagination"]


def test_tablesmith_sessions_and_the_local_targets_moto_use_it() -> None:
    assert type(_botocore_session().get_component("data_loader")) is direct_lookup(Loader)
    from moto.core import utils

    from tablesmith.local.server import _prepare_moto

    _prepare_moto()
    assert type(utils.create_loader()) is direct_lookup(MotoLoader)


def test_aws_data_path_is_expanded_as_botocore_does(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Any) -> None:
    """A model of one's own under AWS_DATA_PATH='~/models' (or '$VAR/models') is the one
    read, as botocore's own loader reads it."""
    import gzip
    import json

    from tablesmith import aws

    real = Loader().load_service_model("sts", "service-2")
    mine = {**real, "documentation": "mine"}
    folder = tmp_path / "models" / "sts" / real["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json.gz").write_bytes(gzip.compress(json.dumps(mine).encode()))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TS_MODELS", str(tmp_path / "models"))
    for data_path in ("~/models", "$TS_MODELS"):
        monkeypatch.setenv("AWS_DATA_PATH", data_path)
        monkeypatch.setattr(aws, "_LOADERS", {})
        loaded = _botocore_session().get_component("data_loader")
        assert loaded.load_service_model("sts", "service-2")["documentation"] == "mine"
