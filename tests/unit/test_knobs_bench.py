"""The knobs sweep's plumbing: ``--set`` of the e2e bench checks the setting, the sweep skips the defaults."""

from __future__ import annotations

import argparse

import pytest

from bench.e2e_bench import setting_override
from bench.knobs_bench import knob_values, table, variants


def test_set_takes_a_setting_and_its_value_as_the_environment_gives_it():
    assert setting_override("TOPIC_PARTITIONS=12") == ("topic_partitions", "12")
    assert setting_override("index_refresh_seconds=0.5") == ("index_refresh_seconds", "0.5")


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("partitions=12", "NAME a newswire setting"),
        ("topic_partitions", "NAME a newswire setting"),
        ("topic_partitions=0", "greater than or equal to 1"),
        ("producer_linger_ms=soon", "valid integer"),
    ],
)
def test_set_refuses_an_unknown_setting_or_a_bad_value_in_one_line(given, said):
    with pytest.raises(argparse.ArgumentTypeError, match=said):
        setting_override(given)


def test_the_sweep_runs_the_reference_first_and_last_and_skips_each_knobs_default():
    runs = variants({"topic_partitions": ["1", "4", "12"], "producer_linger_ms": ["0", "5.0", "50"]})
    assert [label for label, _ in runs] == [
        "reference",
        "topic_partitions=1",
        "topic_partitions=12",
        "producer_linger_ms=0",
        "producer_linger_ms=50",
        "reference (again)",
    ]
    assert runs[0][1] == runs[-1][1] == {}
    assert runs[2][1] == {"topic_partitions": "12"}


def test_knobs_are_checked_before_the_first_run():
    assert knob_values("batch_size=16,256") == ("batch_size", ["16", "256"])
    with pytest.raises(argparse.ArgumentTypeError):
        knob_values("batch_size=0")


def test_the_table_shows_the_spread_of_the_two_references():
    def row(variant: str, p50: float, cores: float) -> dict[str, object]:
        latency = {"p50": p50, "p95": p50 * 2, "p99": p50 * 3}
        return {"variant": variant, "publication_to_searchable": latency, "kept_up": True, "found": 1,
                "articles": 1, "cores_used": {"process": cores}, "total_cores": cores}  # fmt: skip

    lines = table(
        [row("reference", 1.0, 0.5), {"variant": "batch_size=16", "failed": True}, row("reference (again)", 1.5, 0.75)]
    )
    assert "| batch_size=16 | failed |" in lines
    assert (
        lines.splitlines()[-1]
        == "| run-to-run spread (the references apart by) | 0.500 | 1.000 | 1.500 | | 0.25 | 0.25 |"
    )
