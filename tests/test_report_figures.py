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
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == methods
    markers = [line.get_marker() for line in ax.get_lines() if line.get_marker() not in (None, "None", "_")]
    assert len(set(markers)) == len(methods)  # each method its own marker (colour is its family, shared)


def test_quality_vs_cost_legend_stays_clear_of_a_smoke_stamp():
    """The smoke demo's eleven methods, stamped: the legend sits outside the axes and clear of the stamp (a figure
    legend at the upper right once shared the top with it, and the stamp ran into its first entry)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from colorbench.report.smoke import stamp_figure

    methods = ["gray", "cnn-original", "cnn-lpips", "cnn-mse", "eccv16", "siggraph17", "coltran", "ddcolor",
               "controlnet-canny", "controlnet-canny-img2img", "controlnet-brightness"]
    mean = np.linspace(0.2, 0.4, len(methods))
    summary = pd.DataFrame({"method": methods, "lpips_mean": mean, "lpips_lo": mean - 0.03, "lpips_hi": mean + 0.03})
    fig = stamp_figure(quality_vs_time(pd.DataFrame({"method": methods, "s_per_image": np.linspace(0.04, 3, 11)}),
                                       summary, "lpips"))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (ax,) = fig.axes
    legend = (fig.legends or [ax.get_legend()])[0]
    box, axes_box = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 > axes_box.x1 and not box.overlaps(fig._suptitle.get_window_extent(renderer))


def _visible_tick_label_boxes(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    (ax,) = fig.axes
    labels = [t for t in ax.xaxis.get_ticklabels(minor=False) + ax.xaxis.get_ticklabels(minor=True)
              if t.get_visible() and t.get_text()]
    left, right = ax.get_window_extent(renderer).x0 - 30, ax.get_window_extent(renderer).x1 + 30
    boxes = [t.get_window_extent(renderer) for t in labels]
    return [b for b in boxes if left <= b.x0 and b.x1 <= right]


def test_quality_vs_cost_x_labels_are_readable_whatever_the_span():
    """A quick run of two methods at 0.28 and 0.45 s per image: matplotlib labelled every minor tick of the log axis
    in scientific notation and the labels ran together ("3×10⁻¹4×10⁻¹"), a new user's screenshot."""
    for seconds in ([0.28, 0.45], [0.3, 0.33], [0.04, 3.0], [0.01, 40.0]):
        methods = ["gray", "cnn-original"]
        mean = np.array([0.2, 0.19])
        summary = pd.DataFrame({"method": methods, "lpips_mean": mean, "lpips_lo": mean - 0.03,
                                "lpips_hi": mean + 0.03})
        fig = quality_vs_time(pd.DataFrame({"method": methods, "s_per_image": seconds}), summary, "lpips")
        boxes = sorted(_visible_tick_label_boxes(fig), key=lambda b: b.x0)
        assert len(boxes) >= 2, seconds  # the axis says where the points are
        assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:])), seconds  # no two labels overlap
