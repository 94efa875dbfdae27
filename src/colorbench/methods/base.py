"""The method contract, stated here and held to by ``tests/test_method_conformance.py`` for every registered method:
``name`` (the registry's), ``family``, ``stochastic``, ``Options``, ``load(device)``, ``unload()``,
``colorize(grays, *, seed, item_seeds=None, labels=None)``, ``config()``, ``weights()`` and ``stage_seconds``.

A new method is one module (a :class:`Method` subclass), one line in :mod:`colorbench.methods.registry` (or, from
another package, one ``colorbench.methods`` entry point) and one options dataclass: a frozen
``@dataclass(frozen=True, kw_only=True)`` subclass of :class:`~colorbench.methods.options.MethodOptions` (which has
``smoke``), named by the class attribute ``Options``. Its fields are the method's ``--option METHOD.KEY=VALUE`` keys
(also a config file's ``method_options`` and the notebooks' ``METHOD_OPTIONS``), checked and converted by their
types before any work; mark the ones that change only speed or memory with
:func:`~colorbench.methods.options.speed_only`, so resuming with another value is allowed. The constructor takes the
options, as an instance or as keywords (``Method(Options(...))`` or ``Method(temperature=0.1)``); ``self.options``
holds them. A subclass that only changes defaults declares an options subclass with other defaults and no
constructor.

``colorize`` takes uint8 ``HxW`` gray images and returns uint8 ``HxWx3`` RGB at the method's *native* size; the
runner L-merges the result back onto the input. Methods never see colour.

Two optional keyword arguments carry per-image context when the runner has it:

* ``item_seeds`` — one seed per image, derived from the run seed and the sample id (:func:`item_seed`), so any
  image can be regenerated alone, whatever batch it fell in. Stochastic methods should seed per image from it.
* ``labels`` — the dataset's class label per image (``None`` where unknown), for label-aware prompts.

Both are checked once, here, for every method: a length other than ``len(grays)`` raises ValueError before the
method runs (a short list would otherwise be broadcast or zipped short, e.g. three "independent" samples from one
seed). :class:`Method` wraps each subclass's ``colorize`` with that check (:meth:`Method.__init_subclass__`).

Methods may fill ``stage_seconds`` during ``colorize`` (e.g. ``{"colorizer": 1.2, "spatial_upsampler": 0.4}``);
the runner writes it to ``timings.csv``.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from abc import ABC, abstractmethod
from typing import ClassVar, Sequence

import numpy as np

from colorbench.methods.families import check_family
from colorbench.methods.options import MethodOptions, OptionError, options_record, parse_options

#: the one stamp of smoke runs (tiny untrained models): method descriptions, notebooks and the report use it
SMOKE_LABEL = "smoke: untrained, numbers meaningless"


def item_seed(run_seed: int, sample_id: str, k: int = 0) -> int:
    """A stable 63-bit seed for sample ``sample_id``'s ``k``-th output in a run seeded ``run_seed``."""
    digest = hashlib.sha256(f"{int(run_seed)}\x00{sample_id}\x00{int(k)}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class Method(ABC):
    #: the registry name, e.g. ``"coltran"``: set from the registration when the class declares none, and checked
    #: against it when it does (:func:`colorbench.methods.registry.method_class`)
    name: ClassVar[str]
    #: one of :data:`colorbench.methods.families.FAMILIES` ("floor", "cnn", "transformer", "diffusion"): the report
    #: answers per family. No default: a registered method without one fails the registry's test
    family: ClassVar[str]
    #: True when outputs depend on the seed (several samples per image make sense)
    stochastic: ClassVar[bool] = False
    #: one line for ``colorbench methods`` and the report
    description: ClassVar[str] = ""
    #: True when a CPU run would take far too long for the default selection (e.g. Stable Diffusion);
    #: ``--methods auto`` then skips it on CPU with the reason, naming it explicitly still runs it
    heavy_on_cpu: ClassVar[bool] = False
    #: True when the output shows the whole input squeezed to another aspect ratio (e.g. stretched to a square
    #: canvas): the L-merge's resize to the input's size realigns it, so the runner's misalignment warning is off
    output_spans_input: bool = False
    #: the optional extra (pyproject.toml) this method cannot run without, e.g. "diffusion": `colorbench methods`
    #: then says to install it instead of asking for weights that could not be used anyway
    requires_extra: ClassVar[str | None] = None

    #: the method's options dataclass (see the module docstring); the base one has ``smoke`` only
    Options: ClassVar[type[MethodOptions]] = MethodOptions

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if not (isinstance(cls.Options, type) and issubclass(cls.Options, MethodOptions)):
            raise TypeError(f"{cls.__name__}.Options must be a MethodOptions dataclass, got {cls.Options!r}")
        if "family" in cls.__dict__:  # a typo fails at import, not in the report
            check_family(cls.family, who=cls.__name__)
        own = cls.__dict__.get("colorize")
        if own is not None and not getattr(own, "_checks_per_image_args", False):
            cls.colorize = _with_per_image_checks(own)  # type: ignore[method-assign]
        own_load = cls.__dict__.get("load")
        if own_load is not None and not getattr(own_load, "_explains_missing_extras", False):
            cls.load = _with_extra_hint(own_load)  # type: ignore[method-assign]

    def __init__(self, options: MethodOptions | None = None, /, **values) -> None:
        """``options``: an instance of :attr:`Options`; or keyword ``values`` for its fields (strings are converted
        by the field types; an unknown key or a wrong type raises :class:`OptionError` listing the valid keys)."""
        if options is None:
            options = parse_options(self.Options, values, who=self.name)
        elif values:
            raise TypeError(f"{self.name}: give an {self.Options.__name__} or keyword options, not both")
        elif not isinstance(options, self.Options):
            raise OptionError(f"{self.name}: options must be a {self.Options.__name__}, got {type(options).__name__}")
        self.options = options
        self.device = "cpu"
        self.stage_seconds: dict[str, float] = {}

    def weights(self) -> list[str]:
        """Names of the weights-registry artefacts this method needs (used to decide if it can run)."""
        return []

    def not_ready(self) -> str | None:
        """Why this method cannot run here as configured (``colorbench methods`` shows it), or None when it can.
        The default checks :meth:`weights`; methods that need something else (e.g. a locally trained model)
        override it. Never downloads anything."""
        from colorbench import weights
        from colorbench.extras import missing_extra_reason

        if self.requires_extra and (reason := missing_extra_reason(self.requires_extra)):
            return reason
        missing = [w for w in self.weights() if not weights.status(w)[0]]
        return f"needs weights: {', '.join(missing)}" if missing else None

    @abstractmethod
    def load(self, device: str) -> None:
        """Load weights onto ``device`` ("cpu", "cuda", "cuda:1", ...). Raises WeightsUnavailable if missing."""

    @abstractmethod
    def colorize(
        self,
        grays: list[np.ndarray],
        *,
        seed: int,
        item_seeds: Sequence[int] | None = None,
        labels: Sequence[str | None] | None = None,
    ) -> list[np.ndarray]:
        """Colorize a batch of uint8 ``HxW`` gray images; return uint8 ``HxWx3`` RGB at the native size."""

    def config(self) -> dict:
        """Method settings worth recording in run.json: by default its options, less the speed-only ones (what
        its images depend on). A method adds what the options do not say (a resolved precision, weights' source)."""
        return options_record(self.options)

    def unload(self) -> None:
        """Free memory (called by the runner after the method has run). Subclasses drop their models first, then
        call this, which hands the freed CUDA memory back to the driver."""
        torch = sys.modules.get("torch")  # not imported: nothing on a GPU to give back
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()


def per_image_seeds(n: int, seed: int, item_seeds: Sequence[int] | None) -> list[int]:
    """The item seeds given, or (none given) ``n`` seeds derived from the run seed and the batch position."""
    return [int(s) for s in item_seeds] if item_seeds is not None else [item_seed(seed, f"#{i}") for i in range(n)]


def check_per_image_args(who: str, grays: Sequence, item_seeds: Sequence[int] | None,
                         labels: Sequence[str | None] | None) -> None:
    """``item_seeds`` and ``labels``, when given, need exactly one entry per image."""
    for arg, values in (("item_seeds", item_seeds), ("labels", labels)):
        if values is not None and len(values) != len(grays):
            raise ValueError(f"{who}: {len(grays)} images but {len(values)} {arg}; give one per image "
                             f"(or none: item seeds are then derived from the run seed)")


def _with_per_image_checks(colorize):
    @functools.wraps(colorize)
    def checked(self, grays, *args, item_seeds=None, labels=None, **kwargs):
        check_per_image_args(self.name, grays, item_seeds, labels)
        return colorize(self, grays, *args, item_seeds=item_seeds, labels=labels, **kwargs)

    checked._checks_per_image_args = True  # type: ignore[attr-defined]
    return checked


def _with_extra_hint(load):
    """``load`` whose ImportError of a module from an optional extra (diffusers, tensorflow, ...) names the extra and
    the command that installs it: the runner shows that text as the method's skip reason."""

    @functools.wraps(load)
    def loading(self, *args, **kwargs):
        try:
            return load(self, *args, **kwargs)
        except ImportError as exc:
            if getattr(exc, "_extra_explained", False):
                raise
            from colorbench.extras import explain_import_error

            explained = ImportError(explain_import_error(exc), name=exc.name, path=exc.path)
            explained._extra_explained = True  # type: ignore[attr-defined]  (a subclass's load calling super's)
            raise explained from exc

    loading._explains_missing_extras = True  # type: ignore[attr-defined]
    return loading


def check_grays(grays: Sequence[np.ndarray], who: str) -> None:
    for i, g in enumerate(grays):
        if not isinstance(g, np.ndarray) or g.dtype != np.uint8 or g.ndim != 2:
            raise ValueError(f"{who}: input {i} must be a uint8 HxW gray array, got {getattr(g, 'dtype', type(g))} "
                             f"{getattr(g, 'shape', '')}")
