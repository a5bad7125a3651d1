"""Reading metrics as Prometheus does: the families an exporter serves, the samples of one."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

_SUFFIXES = ("_bucket", "_count", "_sum", "_total")


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


async def scrape(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(url)
    answer.raise_for_status()
    return answer.text
