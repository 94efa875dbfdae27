"""The eye test: blind pairwise judging of a run's colorizations by people, and how far the metrics agree.

* :mod:`~colorbench.judge.store`      — ``judgements.sqlite`` (schema in results/README.md)
* :mod:`~colorbench.judge.catalogue`  — what of a run can be shown
* :mod:`~colorbench.judge.scheduling` — which pair next
* :mod:`~colorbench.judge.session`    — next item / image / answer, shared by both front ends
* :mod:`~colorbench.judge.app`, :mod:`~colorbench.judge.page` — the web app (``colorbench judge RUN``)
* :mod:`~colorbench.judge.widget`     — the same judging inside a notebook (ipywidgets)
* :mod:`~colorbench.judge.analysis`   — Bradley–Terry, agreement, fool rate, metric agreement
* :mod:`~colorbench.judge.report`     — tables, figures and the report section (``colorbench judge-report RUN``)
"""
