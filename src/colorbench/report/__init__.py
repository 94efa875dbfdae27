"""Aggregation, statistics, tables, figures and the HTML report of a scored run.

Notebook use::

    from colorbench.report import build_report, load_tables
    build_report("results/demo")                # tables/, figures/, report.html
    tables = load_tables("results/demo")        # {"headline": DataFrame, ...}
"""

from colorbench.report.build import ReportOptions, build_content, build_report
from colorbench.report.tables import load_tables

__all__ = ["ReportOptions", "build_content", "build_report", "load_tables"]
