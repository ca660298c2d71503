"""Helpers shared by the TUI tests."""

import asyncio
import functools


def sync(test):
    """Run an async Pilot test without an async pytest plugin."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return run
