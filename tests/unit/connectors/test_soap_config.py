"""The SOAP connector's settings: what config.yaml may and may not say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from adapter import registry
from adapter.config import load_config
from connectors.soap import SoapConfig, SoapConnector

BASE: dict[str, Any] = {
    "wsdl": "https://chis.example.org/children/v1?wsdl",
    "operation": "GetChildrenChangedSince",
    "items_path": "Children.Child",
    "key_field": "ChildId",
    "fields": ["ChildId", "GivenName"],
}


def config(**overrides: Any) -> SoapConfig:
    """BASE with ``overrides``, validated."""
    return SoapConfig.model_validate({**BASE, **overrides})


def test_registered_under_kind_soap() -> None:
    """The entry point `soap` loads SoapConnector, whose config model is SoapConfig."""
    loaded = registry.load(registry.CONNECTORS, "soap")
    assert loaded is SoapConnector
    assert loaded.config_model is SoapConfig


def test_the_field_allow_list_is_required_and_non_empty() -> None:
    """Without a field allow-list (or with an empty one) the config is refused."""
    without = {k: v for k, v in BASE.items() if k != "fields"}
    with pytest.raises(ValidationError, match="fields"):
        SoapConfig.model_validate(without)
    with pytest.raises(ValidationError, match="fields"):
        config(fields=[])


def test_related_lists_need_their_own_allow_list() -> None:
    """A related list without fields is refused; with them it is kept by name."""
    with pytest.raises(ValidationError, match="fields"):
        config(related={"involvements": {"path": "Involvements.Involvement"}})
    ok = config(related={"involvements": {"path": "Involvements.Involvement", "fields": ["A"]}})
    assert ok.related["involvements"].fields == ("A",)


@pytest.mark.parametrize("bad", ["Children..Child", " Children", "Children.", ""])
def test_malformed_dotted_paths_are_refused(bad: str) -> None:
    """Paths with empty parts or padding are refused rather than silently matching nothing."""
    with pytest.raises(ValidationError):
        config(items_path=bad)


def test_tls_verification_cannot_be_switched_off() -> None:
    """There is no setting that disables certificate verification (unknown keys are refused)."""
    for switch in ("verify", "insecure", "verify_tls"):
        with pytest.raises(ValidationError, match="Extra inputs"):
            config(**{switch: False})


def test_client_certificate_and_key_go_together(tmp_path: Path) -> None:
    """Half a client certificate configuration is refused."""
    with pytest.raises(ValidationError, match="client_certificate and client_key"):
        config(client_certificate=tmp_path / "client.pem")


def test_username_and_password_go_together() -> None:
    """A user name without a password (or the reverse) is refused."""
    with pytest.raises(ValidationError, match="username and password"):
        config(username="adapter")
    with pytest.raises(ValidationError, match="username and password"):
        config(password="secret")


def test_credentials_to_a_plain_http_endpoint_are_refused() -> None:
    """WS-Security credentials with an http:// endpoint are refused at validation."""
    with pytest.raises(ValidationError, match="https only"):
        config(username="a", password="b", endpoint="http://chis.example.org/children/v1")


def test_the_password_is_secret_in_every_rendering() -> None:
    """The password never appears in repr, str or a JSON dump of the config."""
    secret = "s3cr3t-Pa55"
    loaded = config(username="adapter", password=secret)
    assert loaded.password is not None
    assert loaded.password.get_secret_value() == secret
    for shown in (repr(loaded), str(loaded), loaded.model_dump_json()):
        assert secret not in shown


def test_timeouts_must_be_positive() -> None:
    """A zero or negative time-out is refused (it would mean no time-out in requests)."""
    with pytest.raises(ValidationError):
        config(connect_timeout_seconds=0)
    with pytest.raises(ValidationError):
        config(read_timeout_seconds=-1)


def test_config_yaml_takes_the_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In config.yaml, password: ${VAR} becomes a SecretStr holding the variable's value."""
    monkeypatch.setenv("CHIS_PASSWORD", "from-the-env")
    path = tmp_path / "config.yaml"
    path.write_text(
        """
organisation: {la_code: "891", name: Nottinghamshire}
sources:
  - name: health
    kind: soap
    source_system: CHIS891
    options:
      wsdl: https://chis.example.org/children/v1?wsdl
      operation: GetChildrenChangedSince
      items_path: Children.Child
      key_field: ChildId
      fields: [ChildId, NHSNumber]
      username: adapter
      password: ${CHIS_PASSWORD}
""",
        encoding="utf-8",
    )
    options = load_config(path).source("health").options
    assert isinstance(options, SoapConfig)
    assert options.password is not None
    assert options.password.get_secret_value() == "from-the-env"


def test_the_shipped_example_is_a_valid_soap_source(repo_root: Path) -> None:
    """examples/sources-soap.yaml validates, and its allow-lists name no case information."""
    document = yaml.safe_load((repo_root / "examples" / "sources-soap.yaml").read_text("utf-8"))
    source = document["sources"][0]
    assert source["kind"] == "soap"
    options = SoapConfig.model_validate(source["options"])
    allowed = set(options.fields) | {f for r in options.related.values() for f in r.fields}
    assert allowed.isdisjoint({"ClinicalNotes", "SafeguardingConcern", "ReasonForReferral"})
