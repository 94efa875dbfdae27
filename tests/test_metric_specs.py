"""The metric specifications are the one place a metric is declared: every reader follows them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from colorbench.metrics import specs
from colorbench.metrics.table import METRIC_COLUMNS, NUMERIC_COLUMNS


def test_every_per_image_spec_has_its_function_and_no_function_lacks_a_spec():
    from colorbench.metrics.scorer import METRIC_FUNCTIONS

    assert list(METRIC_FUNCTIONS) == list(specs.IMAGE_METRICS)


def test_metrics_csv_columns_are_the_per_image_specs_in_order():
    assert NUMERIC_COLUMNS == list(specs.IMAGE_METRICS)
    assert METRIC_COLUMNS[-1] == "error" and METRIC_COLUMNS[6:-1] == NUMERIC_COLUMNS


def test_headings_carry_unit_and_direction():
    assert specs.SPECS["psnr"].heading == "PSNR (dB) ↑" and specs.SPECS["lpips"].heading == "LPIPS ↓"
    assert specs.SPECS["colorfulness"].heading == "Colourfulness"  # no direction: no arrow


def test_the_verdict_formats_numbers_with_the_specs_decimals(monkeypatch):
    from colorbench.report import verdict

    assert verdict._num(0.123456, "lpips") == "0.1235"
    monkeypatch.setitem(specs.SPECS, "lpips", dataclasses.replace(specs.SPECS["lpips"], decimals=2))
    assert verdict._num(0.123456, "lpips") == "0.12"  # no second table of decimals in the verdict


def test_the_heatmap_reads_the_direction_from_the_specs(monkeypatch):
    from colorbench.report import figures

    per_class = pd.DataFrame({"n_images": [1, 1], "a": [0.1, 0.2]}, index=["x", "y"])
    cmap = lambda metric: figures.per_class_heatmap(per_class, metric).axes[0].images[0].get_cmap().name  # noqa: E731
    assert cmap("lpips") == "viridis_r" and cmap("psnr") == "viridis"
    monkeypatch.setitem(figures.LOWER_IS_BETTER, "ab_rmse", True)  # a metric added later, lower is better
    assert cmap("ab_rmse") == "viridis_r"


def test_judge_agreement_directions_follow_the_specs():
    from colorbench.judge.analysis import AGREEMENT_METRICS

    for name in specs.COMPARED_METRICS:
        assert AGREEMENT_METRICS[name] is bool(specs.LOWER_IS_BETTER[name])
    assert np.all([name in AGREEMENT_METRICS for name in specs.COMPARED_METRICS])
