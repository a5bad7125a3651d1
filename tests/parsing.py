"""Parsing our own sources in tests."""

from __future__ import annotations

import ast
import gc
from pathlib import Path


def parse(path: Path) -> ast.Module:
    """`ast.parse` of a source file, with the garbage collector held off meanwhile: on CPython
    3.11 a finalizer that runs Python code in the middle of building the tree trips its
    recursion-depth check ("SystemError: AST constructor recursion depth mismatch"), which
    the whole suite's many threads and objects made happen now and then."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(path.read_text(), str(path))
    finally:
        if enabled:
            gc.enable()
