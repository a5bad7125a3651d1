"""The domain: what a registration is, the rules it follows, and its error vocabulary.

Pure code, no I/O: imported by workflows (inside Temporal's sandbox), activities and the API.
"""
