"""What a history's local-activity marker says (the store writes run locally since patch
`local-store-1`): its activity type and attempt, as Temporal's core records them."""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

LOCAL_ACTIVITY_MARKER = "core_local_activity"


def local_activity(event: HistoryEvent) -> dict[str, Any] | None:
    """The marker's data (`activity_type`, `attempt`, …) for a local activity's marker; None
    for any other event."""
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
        return None
    marker = event.marker_recorded_event_attributes
    data = marker.details.get("data")
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or data is None or not data.payloads:
        return None
    found: dict[str, Any] = json.loads(data.payloads[0].data)
    return found
