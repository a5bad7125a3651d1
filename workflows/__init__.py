"""Orchestration only: the journey, its stages, timers, updates and signals. No I/O here."""

from workflows.registration import RegistrationWorkflow

__all__ = ["WORKFLOWS", "RegistrationWorkflow"]

WORKFLOWS = [RegistrationWorkflow]
