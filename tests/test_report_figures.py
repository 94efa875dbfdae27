"""The report's figures as a reader sees them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from colorbench.report.figures import quality_vs_time


def test_quality_vs_cost_names_every_method_in_a_legend_not_on_top_of_each_other():
    """Three CNNs of nearly the same cost and LPIPS: names written beside the points overlapped (a new user's
    report); the legend names each method once, outside the axes, with its own marker."""
    methods = ["gray", "cnn-original", "cnn-lpips", "cnn-mse", "controlnet-canny", "controlnet-brightness"]
    cost = pd.DataFrame({"method": methods, "s_per_image": [0.04, 0.27, 0.29, 0.3, 3.0, 3.1]})
    mean = np.array([0.2, 0.193, 0.194, 0.195, 0.34, 0.335])
    summary = pd.DataFrame({"method": methods, "lpips_mean": mean, "lpips_lo": mean - 0.03, "lpips_hi": mean + 0.03})
    fig = quality_vs_time(cost, summary, "lpips")
    (ax,) = fig.axes
    assert not ax.texts  # no names on the plot itself
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == methods
    markers = [line.get_marker() for line in ax.get_lines() if line.get_marker() not in (None, "None", "_")]
    assert len(set(markers)) == len(methods)  # each method its own marker (colour is its family, shared)
