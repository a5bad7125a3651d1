"""The business metrics: Prometheus's naming, labels that are enumerations of ours (never a
person's data or a registration id), and what each audited step counts."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import api.metrics  # noqa: F401 - registers the API's request metrics
from metrics import journey
from metrics.exposition import text
from registration.activity_messages import AuditEntry
from registration.journey import Stage

LABELS = {
    "channel", "origin", "level", "method", "outcome", "agency", "reason", "limit", "code",
    "operation", "client", "stage", "attention", "route", "status",
}  # fmt: skip
"""Every label our metrics may have; each holds a value of a small closed set."""
UNITS = ("_seconds", "_attempts")


def ours() -> list[tuple[str, str, set[str]]]:
    """Each of our metric families: name as exported, type and label names."""
    found = []
    for metric in text_string_to_metric_families(text().decode()):
        if metric.name.startswith("gosreg_"):
            labels = {name for sample in metric.samples for name in sample.labels} - {"le"}
            found.append((metric.name, metric.type, labels))
    return found


def test_every_metric_is_named_as_prometheus_asks() -> None:
    families = ours()
    assert len(families) >= 20
    for name, kind, _ in families:
        if kind == "histogram":
            assert name.endswith(UNITS), f"{name}: a histogram names its unit"
        if kind == "gauge":
            assert not name.endswith("_total"), name
    exported = text().decode()
    for name, kind, _ in families:
        if kind == "counter":
            assert f"# TYPE {name}_total counter" in exported, f"{name}: counters end in _total"


def test_labels_are_few_and_known() -> None:
    observe("registration_started", channel="sms", origin="portal")
    for name, _, labels in ours():
        assert labels <= LABELS, f"{name} has labels {labels - LABELS}"


def observe(event: str, **details: object) -> None:
    journey.observe_step(
        AuditEntry(
            registration_id="reg-x-1", seq=1, event=event, stage=Stage.CONTACT, details=details
        )
    )


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("event", "details", "counted"),
    [
        (
            "registration_started",
            {"channel": "email", "origin": "service_center"},
            [
                (
                    "gosreg_registrations_started_total",
                    {"channel": "email", "origin": "service_center"},
                )
            ],
        ),
        (
            "password_set",
            {},
            [("gosreg_registrations_reached_level_total", {"level": "simplified"})],
        ),
        (
            "verified",
            {"inn_found": True},
            [("gosreg_registrations_reached_level_total", {"level": "standard"})],
        ),
        (
            "identity_confirmed",
            {"method": "letter", "tracking_number": "RA123456789RU"},
            [
                ("gosreg_registrations_reached_level_total", {"level": "confirmed"}),
                ("gosreg_registrations_confirmed_total", {"method": "letter"}),
                ("gosreg_registrations_ended_total", {"outcome": "confirmed"}),
            ],
        ),
        (
            "verification_failed",
            {"agency": "mvd", "reason": "passport_invalid"},
            [("gosreg_verifications_failed_total", {"agency": "mvd", "reason": "mismatch"})],
        ),
        (
            "verification_failed",
            {"agency": "pension_fund", "reason": "verification_timeout"},
            [
                (
                    "gosreg_verifications_failed_total",
                    {"agency": "pension_fund", "reason": "verification_timeout"},
                )
            ],
        ),
        (
            "confirmation_refused",
            {"reason": "documents_mismatch", "clerk_id": "clerk-1"},
            [("gosreg_confirmation_refusals_total", {"reason": "documents_mismatch"})],
        ),
        ("letter_ordered", {"sequence": 1}, [("gosreg_letters_ordered_total", {})]),
        ("letter_code_expired", {"sequence": 1}, [("gosreg_letter_codes_expired_total", {})]),
    ],
)
def test_each_audited_step_counts_once(
    event: str, details: dict[str, object], counted: list[tuple[str, dict[str, str]]]
) -> None:
    before = [value(name, **labels) for name, labels in counted]
    observe(event, **details)
    assert [value(name, **labels) for name, labels in counted] == [b + 1 for b in before]


def test_a_value_outside_its_enumeration_is_counted_as_other() -> None:
    before = value("gosreg_registrations_started_total", channel="other", origin="other")
    observe("registration_started", channel="+79161234567", origin="Иванова")
    after = value("gosreg_registrations_started_total", channel="other", origin="other")
    assert after == before + 1
    exported = text().decode()
    assert "+79161234567" not in exported and "Иванова" not in exported


def test_a_registration_closed_counts_its_outcome() -> None:
    before = value("gosreg_registrations_ended_total", outcome="expired")
    journey.registration_ended(Stage.EXPIRED)
    assert value("gosreg_registrations_ended_total", outcome="expired") == before + 1
