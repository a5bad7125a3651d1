"""Every outside party of a registration, simulated in one FastAPI app (development, tests, demo).

Run it with ``python -m simulators --host 127.0.0.1 --port 8081``, or in-process with
``simulators.server.RunningSimulators``. Each party lives under its own prefix, which is what
``Settings.party_url`` points the clients at:

=====================  ==========================================================================
prefix                 routes
=====================  ==========================================================================
``/sms-gateway``       ``POST /messages`` {to, text, idempotency_key} → {message_id}
``/email-gateway``     ``POST /messages`` {to, subject, body, idempotency_key} → {message_id}
``/pension-fund``      ``POST /checks`` → 202 {request_id, status}; ``GET /checks/{id}``
``/mvd``               ``POST /checks`` → 202 {request_id, status}; ``GET /checks/{id}``
``/fns``               ``POST /inn-requests`` → 202 {request_id, status}; ``GET /inn-requests/{id}``
``/post``              ``POST /letters`` → {tracking_number}; ``GET /letters/{tracking_number}``
``/esignature``        ``POST /verifications`` {signed_request} → {valid, reason, certificate}
``/outbox``            ``GET /messages?to=&kind=``, ``GET /letters?recipient=&tracking_number=``,
                       ``GET /counts``
``/control``           ``POST|GET|DELETE /faults``, ``GET|POST /config``, ``GET|POST /clock``,
                       ``POST /reset``
=====================  ==========================================================================

Idempotency: the same ``idempotency_key`` (gateways, post) or ``request_key`` (agencies) with
the same content returns the first result and sends nothing new (counted as a duplicate); the
same key with different content is refused with 409.

An agency request answers ``{"status": "pending"}`` until the agency's delay (simulator time,
see ``SimulatorConfig``) has passed, then ``{"status": "done", ...}`` with its answer. A letter
is ``accepted``, then ``in_transit``, then ``arrived_at_post_office``.

Outcomes chosen by test data ("SNILS number" is its first 9 digits, without check digits):

==============  ================================  =============================================
party           test data                         outcome
==============  ================================  =============================================
Pension Fund    SNILS number ends in ``666``      matched=false, reason_code ``snils_mismatch``,
                                                  "SNILS does not belong to this person"
Pension Fund    SNILS number ends in ``999``      never answers (pending forever)
MVD             passport number ends in ``666``   matched=false, reason_code ``passport_invalid``,
                                                  "Passport is not valid (reported lost or
                                                  replaced)"
MVD             passport number ends in ``999``   never answers (pending forever)
FNS             SNILS number ends in ``000``      found=false
FNS             any other SNILS                   found=true, a 12-digit INN with valid check
                                                  digits, derived from the SNILS alone
SMS gateway     phone ends in ``0000000``         422 ``unknown_subscriber``
e-mail gateway  address ends in ``.invalid``      422 ``unknown_mailbox``
Russian Post    postcode ``000000``               422 ``unknown_postcode``
e-signature     see ``simulators.esign``          valid / revoked / expired / 400 if malformed
anything else                                     matched / found / sent
==============  ================================  =============================================

Faults (``POST /control/faults`` {party, mode, count, delay_seconds}) hit the party's next
``count`` calls: ``error_500`` answers 500 and does nothing; ``slow`` waits, then works;
``timeout`` works, then holds the answer past the caller's deadline (so only an idempotent
retry avoids a second send). ``GET /outbox/counts`` tells, per party, distinct sends/requests,
duplicate hits, refusals, status polls and faults met.
"""

from simulators.app import create_app
from simulators.config import ManualClock, SimulatorConfig

__all__ = ["ManualClock", "SimulatorConfig", "create_app"]
