"""What support can filter registrations by in the Temporal UI and CLI — never personal data.

Every server the workflow runs on must know these (`service.temporal.ensure_search_attributes`
registers them; the local stack does it at start).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("RegistrationStage")
LEVEL = SearchAttributeKey.for_keyword("RegistrationLevel")
STAGE_SINCE = SearchAttributeKey.for_datetime("RegistrationStageSince")

ALL = (STAGE, LEVEL, STAGE_SINCE)
