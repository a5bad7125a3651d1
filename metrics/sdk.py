"""The Temporal SDK's own metrics: its Prometheus exporter, and the workflow's one metric.

Each process holding a Temporal client (worker, API) can export the SDK's metrics: workflow
task and activity latencies, schedule-to-start latencies, sticky cache hits and size, slots in
use, failures, and the requests to the server. The exporter is the SDK's (Rust) own and binds a
port of its own; this process's other metrics are served elsewhere (`metrics.exposition`).

The SDK's names are left as the SDK makes them (`temporal_…`, no `_total`, histograms in
milliseconds), so that Temporal's community dashboard for Core-based SDKs
(temporalio/dashboards, `sdk/temporal-core-sdks-otel.json`) reads them as they are.

No prometheus-client here: the workflow imports this module for `STAGE_DURATION`.
"""

from __future__ import annotations

from functools import cache

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

STAGE_DURATION = "gosreg_registration_stage_duration_seconds"
"""Histogram of the time a registration spent in a stage, by `stage` (the stage it left),
recorded by the workflow (`workflows.ledger`) through `workflow.metric_meter()`: the only
number that needs the workflow's clock. Not recorded while a history replays."""

STAGE_DURATION_BUCKETS = (
    1.0,
    10.0,
    60.0,
    5 * 60.0,
    30 * 60.0,
    3600.0,
    6 * 3600.0,
    86400.0,
    3 * 86400.0,
    7 * 86400.0,
    14 * 86400.0,
    30 * 86400.0,
)
"""From a code typed in seconds to a letter waited for weeks."""


@cache
def sdk_runtime(host: str, port: int | None) -> Runtime | None:
    """A runtime whose Prometheus exporter listens on `host:port`, one per address in a
    process (the exporter binds when the runtime is made); None without a port, and then
    clients use the SDK's default runtime, which exports nothing."""
    if port is None:
        return None
    exporter = PrometheusConfig(
        bind_address=f"{host}:{port}",
        histogram_bucket_overrides={STAGE_DURATION: STAGE_DURATION_BUCKETS},
    )
    return Runtime(telemetry=TelemetryConfig(metrics=exporter))
