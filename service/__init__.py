"""Reaching registrations from outside the workflow: starting them, forwarding citizen input,
clerk and partner confirmations, support actions. Shared by the API, the demo and tools."""
