"""Running code in a kernel taken from a :class:`jsna_lib.batch.KernelPool` (batch tests)."""

from __future__ import annotations

from typing import Any


def run_in_new_kernel(pool: Any, code: str, timeout: float = 60) -> str:
    """Take a fresh kernel from ``pool``, run ``code`` in it and return what it printed."""
    from jupyter_core.utils import run_sync

    km = pool.take(prelaunch=False)
    kc = km.client()
    kc.start_channels()
    lines: list[str] = []
    try:
        run_sync(kc.wait_for_ready)(timeout=timeout)
        run_sync(kc.execute_interactive)(code, timeout=timeout, output_hook=lambda msg: lines.append(
            msg["content"]["text"]) if msg["msg_type"] == "stream" else None)
    finally:
        kc.stop_channels()
        pool.release(km)
    return "".join(lines)
