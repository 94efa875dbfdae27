"""Prompt presets: the original project's prompt, a label-aware one, and free prompts.

A prompt may contain ``{label}``: it is replaced by the dataset's class label of each image (e.g. "basketball"),
or by ``unknown_label`` where the label is unknown.

Example::

    >>> prompts, negatives = build_prompts(["basketball", None], preset="label")
    >>> prompts[0]
    'a color photograph of basketball, natural colors, high quality'
    >>> prompts[1]
    'a color photograph of a scene, natural colors, high quality'
    >>> negatives[0]
    'black and white, cartoon, low quality, grayscale, monochrome'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

DEFAULT_UNKNOWN_LABEL = "a scene"


@dataclass(frozen=True)
class PromptPreset:
    name: str
    prompt: str
    negative_prompt: str
    description: str

    @property
    def uses_label(self) -> bool:
        return "{label}" in self.prompt or "{label}" in self.negative_prompt


PRESETS: dict[str, PromptPreset] = {
    p.name: p
    for p in (
        PromptPreset(
            name="original",
            prompt="add color to this image, portrait, high quality",
            negative_prompt="black and white, cartoon, low quality",
            description="The original project's prompt and negative prompt, the same for every image.",
        ),
        PromptPreset(
            name="label",
            prompt="a color photograph of {label}, natural colors, high quality",
            negative_prompt="black and white, cartoon, low quality, grayscale, monochrome",
            description="Names the dataset's class of each image; the negative prompt also rules out gray output.",
        ),
    )
}
DEFAULT_PRESET = "original"


def prompt_presets() -> list[PromptPreset]:
    """Every preset, for listing in a notebook or the CLI."""
    return list(PRESETS.values())


def get_preset(name: str) -> PromptPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown prompt preset {name!r}; presets: {', '.join(PRESETS)} "
                         "(or pass prompt=... for a free prompt)") from None


def resolve_templates(preset: str | None = DEFAULT_PRESET, prompt: str | None = None,
                      negative_prompt: str | None = None) -> tuple[str, str]:
    """The (prompt, negative) templates: a free ``prompt``/``negative_prompt`` overrides the preset's."""
    base = get_preset(preset) if preset is not None else None
    if base is None and prompt is None:
        raise ValueError("give a prompt preset or a free prompt")
    return (prompt if prompt is not None else base.prompt,
            negative_prompt if negative_prompt is not None else (base.negative_prompt if base else ""))


def render(template: str, label: str | None, unknown_label: str = DEFAULT_UNKNOWN_LABEL) -> str:
    text = (label or "").strip() or unknown_label
    return template.replace("{label}", text)


def build_prompts(labels: Sequence[str | None], preset: str | None = DEFAULT_PRESET, prompt: str | None = None,
                  negative_prompt: str | None = None,
                  unknown_label: str = DEFAULT_UNKNOWN_LABEL) -> tuple[list[str], list[str]]:
    """One (prompt, negative prompt) per image, with each image's label filled in."""
    prompt_t, negative_t = resolve_templates(preset, prompt, negative_prompt)
    return ([render(prompt_t, lab, unknown_label) for lab in labels],
            [render(negative_t, lab, unknown_label) for lab in labels])
