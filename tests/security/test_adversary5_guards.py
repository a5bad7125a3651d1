"""Fifth adversarial pass: regression guards (these pass today).

`VerifyingWorker` checks an update's proof in `handle_update_validator`, and the Temporal SDK
calls that interceptor only for an update *that has a validator*
(`_WorkflowInstanceImpl._apply_do_update`: `if job.run_validator and defn.validator is not
None`). An update handler added (or moved in a reorganisation) without a validator would be
taken from anyone who can write to the namespace, with no proof at all. The handler recording
in `handle_update_handler` does not refuse anything.
"""

from __future__ import annotations

from temporalio import workflow

from workflows import WORKFLOWS


def test_every_update_has_a_validator_so_its_proof_is_checked() -> None:
    for defn_class in WORKFLOWS:
        definition = workflow._Definition.from_class(defn_class)
        assert definition is not None
        unchecked = sorted(
            str(name) for name, update in definition.updates.items() if update.validator is None
        )
        assert not unchecked, (
            f"{defn_class.__name__}: updates {unchecked} have no validator, so VerifyingWorker "
            "never checks their proof"
        )
        assert None not in definition.updates, "a dynamic update handler takes any name"
        assert None not in definition.signals, "a dynamic signal handler takes any name"
