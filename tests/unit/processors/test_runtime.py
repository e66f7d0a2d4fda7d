from __future__ import annotations

import gc
import platform
import sys

import pytest

from newswire.processors.runtime import keep_heap, prepare_long_run


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's"
)
def test_keep_heap_takes_effect_on_glibc() -> None:
    assert keep_heap() is True


def test_prepare_long_run_leaves_loaded_objects_out_of_collections() -> None:
    try:
        prepare_long_run()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
