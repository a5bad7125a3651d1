"""Metrics: what the product and the Temporal SDK tell Prometheus.

- `metrics.journey`: the business metrics, and where each is observed;
- `metrics.sdk`: the SDK's Prometheus exporter, and the one metric the workflow records;
- `metrics.exposition`: `/metrics` in Prometheus's text format.

README, "Metrics and health", lists the ports; `ops/observability/` holds the alerting rules
and the Grafana dashboard.
"""
