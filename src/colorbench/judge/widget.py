"""The same judging inside a notebook (Colab, JupyterLab) with ipywidgets — no server — writing to the same
``judgements.sqlite`` through the same :class:`~colorbench.judge.session.JudgingSession` as the web app.

Usage (a sketch, not run by the doctests: it needs a run folder and a notebook)::

    from colorbench.judge.widget import JudgingWidget
    JudgingWidget("results/demo", judge="ana").show()        # buttons; answers are stored as they are given
"""

from __future__ import annotations

from colorbench.judge.page import BUTTONS, QUESTIONS
from colorbench.judge.session import JudgingSession


class JudgingWidget:
    """Buttons for each answer, the two images (one in real-or-fake mode) and a "show the true colours" toggle
    (off by default; using it is recorded with the answer)."""

    def __init__(self, run, *, judge: str, mode: str = "pair", seed: int | None = None, width: int = 360):
        import ipywidgets as w

        self.session = JudgingSession(run, mode=mode, seed=seed)
        self.judge = judge
        self.width = width
        self.left = w.Image(format="png", width=width)
        self.right = w.Image(format="png", width=width)
        self.truth = w.Image(format="png", width=width // 2)
        self.truth_toggle = w.Checkbox(value=False, description="show the true colours (recorded)", indent=False)
        self.truth_toggle.observe(self._toggle_truth, names="value")
        self.buttons = {}
        for answer, label, _ in BUTTONS[mode]:
            button = w.Button(description=label, layout=w.Layout(width="150px"))
            button.on_click(lambda _b, a=answer: self.answer(a))
            self.buttons[answer] = button
        self.status = w.HTML()
        images = [self.left, self.right] if mode == "pair" else [self.left]
        self.box = w.VBox([w.HTML(f"<b>{QUESTIONS[mode]}</b> (judge: {judge})"), w.HBox(images),
                           w.HBox(list(self.buttons.values())), self.truth_toggle, self.truth, self.status])
        self.current = None
        self._peeked = False
        self._load_next()

    def show(self):
        from IPython.display import display

        display(self.box)
        return self

    def _ipython_display_(self):  # a bare `JudgingWidget(...)` at the end of a cell shows it
        self.show()

    def answer(self, value: str) -> int:
        """Store ``value`` for the item on screen and show the next one; returns the stored row id."""
        row_id = self.session.answer(self.current.token, value, truth_peeked=self._peeked)
        self.status.value = f"saved ({self.session.answered_by(self.current.judge)} answered)"
        self._load_next()
        return row_id

    def _load_next(self) -> None:
        self.current = self.session.next_for(self.judge)
        self._peeked = False
        files = self.session.images_for(self.current)  # recorded as delivered: the answer buttons then count
        self.left.value = files["left"].read_bytes()
        if "right" in files:
            self.right.value = files["right"].read_bytes()
        self.truth_toggle.value = False
        self.truth_toggle.disabled = not self.session.has_truth(self.current)
        self.truth.value = b""
        self.truth.layout.display = "none"

    def _toggle_truth(self, change) -> None:
        if change["new"] and self.current is not None and self.session.has_truth(self.current):
            self._peeked = True
            self.truth.value = self.session.image_path(self.current.token, "truth").read_bytes()  # records the peek
            self.truth.layout.display = None
        else:
            self.truth.layout.display = "none"
