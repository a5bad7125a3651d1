"""Reading metrics as Prometheus does: the families an exporter serves, the samples of one,
and the metric families the shipped alerting rules and dashboard query."""

from __future__ import annotations

import json
import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ops.monitoring import ALERTS, DASHBOARD

_SUFFIXES = ("_bucket", "_count", "_sum", "_total")
_NAME = re.compile(r"\b(?:gosreg|temporal)_[a-z0-9_]+\b")


def family(name: str) -> str:
    """A sample's or a query's metric name as its family's: without `_total`, `_bucket`..."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def families(text: str) -> set[str]:
    """The metric families `text` (Prometheus's text format) declares."""
    return {family(metric.name) for metric in text_string_to_metric_families(text)}


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Each sample named `name` in `text`: its labels and value."""
    return [
        (sample.labels, sample.value)
        for metric in text_string_to_metric_families(text)
        for sample in metric.samples
        if sample.name == name
    ]


def queries() -> list[str]:
    """Every PromQL expression of the shipped alerting rules and dashboard."""
    rules = [line.strip() for line in ALERTS.read_text().splitlines()]
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        *rules,  # names are found line by line; a rule's text around them does not matter
        *(target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])),
    ]


def queried_families() -> set[str]:
    """The metric families (ours and the SDK's) the alerting rules and dashboard query."""
    return {family(name) for query in queries() for name in _NAME.findall(query)}


async def scrape(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(url)
    answer.raise_for_status()
    return answer.text
