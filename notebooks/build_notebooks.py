"""Writes notebooks/*.ipynb from the cell sources in this file, so notebook changes are reviewed as plain Python.

    python notebooks/build_notebooks.py           # (re)write every notebook
    python notebooks/build_notebooks.py --check   # exit 1 if a committed notebook differs from what this writes

Every notebook: a markdown cell with the "Open in Colab" badge and its purpose; a code cell tagged ``parameters``
(papermill) with the shared parameters and its own; a setup cell (installs colorbench in Colab, nothing locally,
then ``colorbench.notebook.setup``); then calls into colorbench and displays. No outputs are written (a test checks).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
# The repository's one URL is pyproject.toml's [project.urls] Homepage: a fork changes it there and rebuilds (the
# notebooks' REPO parameter and Colab badge follow), or passes REPO as a parameter (papermill / colab-check).
REPO = re.search(r'^Homepage = "([^"]+)"', (HERE.parent / "pyproject.toml").read_text(encoding="utf-8"), re.M)[1]
COLAB = REPO.replace("https://github.com/", "https://colab.research.google.com/github/") + "/blob/main/notebooks/{file}"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


@dataclass
class Spec:
    title: str
    purpose: str
    extras: str  # pip extras the Colab install needs for this notebook (never [all]: it would pull TensorFlow)
    methods: str  # the METHODS default, as Python source
    gpu: bool  # ask Colab for a GPU runtime when the notebook is opened
    params: str = ""  # notebook-specific parameter lines
    cells: list[tuple[str, str]] = field(default_factory=list)  # ("md" | "code", source)


def shared_parameters(methods: str) -> str:
    return f'''# Parameters (papermill: `colorbench notebooks run --params KEY=VALUE`). Every notebook uses the same RUN folder.
RUN = "notebook-run"      # results/<RUN>/ — shared by 00 … 05, so 04/05 score and report what 01–03 produced
DATASET = "auto"          # "auto": sports if Kaggle credentials or the data are here, else the bundled samples (00 says
                          # which) | "sports" (Kaggle, downloaded by 00; needs credentials) | "samples" | a folder
SPLIT = "test"            # train | valid | test (ignored for datasets without splits)
N_PER_CLASS = 1           # images per class; the sports test split has 5 per class (500 images in all)
LIMIT = None              # cap on the number of images (None: no cap)
METHODS = {methods}
DEVICE = "auto"           # auto | cuda | cpu
BATCH_SIZE = None         # images per colorize call. None: each method runs at its own measured-best batch (ColTran
                          # 64 on a GPU, Zhang and the CNNs 16, diffusion 4); a number caps every method and sets
                          # the training and scoring batches
SEED = 0
SMOKE = False             # True: tiny untrained models, every code path in minutes on a CPU — numbers meaningless
USE_DRIVE = True          # Colab only: keep weights, data and results in Google Drive (MyDrive/colorbench)
SHOW = 6                  # images shown in grids
REPO = "{REPO}"  # Colab installs colorbench from this repository (a fork: its own URL)'''


def setup_source(extras: str) -> str:
    return f'''# Setup. In Colab: install colorbench from GitHub (about a minute, once per runtime). Locally: nothing to do.
import importlib.util, os, subprocess, sys
found = importlib.util.find_spec("colorbench")
# origin None: only the clone folder, seen as a namespace package from /content (after a failed install) — install
if found is None or found.origin is None:
    if importlib.util.find_spec("google.colab") is None:
        raise ImportError("colorbench is not installed in this kernel: in the checkout run `make setup` and choose "
                          "the .venv kernel, or `pip install -e '.[all]'`")
    import shutil, tempfile
    from importlib.metadata import distributions
    if not os.path.isfile("/content/colorbench/pyproject.toml"):  # none yet, or an interrupted clone
        shutil.rmtree("/content/colorbench", ignore_errors=True)
        subprocess.run(["git", "clone", "--depth", "1", REPO, "/content/colorbench"], check=True)
    # Colab's preinstalled packages stay as they are: pip must pick versions that fit them (or stop, saying which)
    pins = {{}}
    for d in distributions():  # in sys.path order: the first of a name is the one Python imports
        if d.metadata["Name"] and d.metadata["Name"].lower() != "colorbench":
            pins.setdefault(d.metadata["Name"].lower(), f"{{d.metadata['Name']}}=={{d.version}}")
    fd, keep = tempfile.mkstemp(prefix="colab-preinstalled-", suffix=".txt")  # its own file: no other run's pins
    with os.fdopen(fd, "w") as f:
        f.write("\\n".join(sorted(pins.values())))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-c", keep, "-e",
                    "/content/colorbench[{extras}]"], check=True)
    sys.path.insert(0, "/content/colorbench/src")  # a running kernel does not see a fresh editable install

import colorbench.notebook as nb

env = nb.setup(run=RUN, smoke=SMOKE, use_drive=USE_DRIVE, device=DEVICE)'''


RUN_CONFIG = '''from colorbench.config import RunConfig
from colorbench.run import run

config = RunConfig(run=RUN, dataset=DATASET, split=SPLIT, n_per_class=N_PER_CLASS, limit=LIMIT, methods={methods},
                   device=DEVICE, batch_size=BATCH_SIZE, seed=SEED, smoke=SMOKE{extra})
summary = run(config, progress=env.progress)
nb.show_run(RUN, methods=[m.name for m in summary.methods])'''


def run_cell(extra: str = "", methods: str = "METHODS") -> str:
    return RUN_CONFIG.format(extra=extra, methods=methods)


NOTEBOOKS: dict[str, Spec] = {
    "00_setup_and_data": Spec(
        title="00 · Setup and data",
        purpose=(
            "Start here. This notebook prepares the session (Colab install, Google Drive, GPU check), fetches the "
            "dataset — Kaggle's *100 Sports Image Classification* test split by default, or the bundled samples — "
            "shows exactly which images the run uses and the gray version every method sees, lists the registered "
            "methods and whether their weights are present, and makes the first run: the `gray` baseline (the "
            "input as RGB, the floor every colorizer must beat). The method notebooks 01–03 add their outputs to the "
            "same run folder; 04 scores them and 05 writes the report."
        ),
        extras="kaggle",
        methods='["gray"]        # this notebook runs the floor only; 01–03 run the colorizers',
        gpu=False,
        cells=[
            ("md", "## The dataset\n\n`sports` is downloaded once with the official Kaggle client (credentials: see "
                   "the README — in Colab, the key icon on the left, secrets `KAGGLE_USERNAME` and `KAGGLE_KEY`) "
                   "and verified; a verified copy is never downloaded again. `samples` needs nothing. The default, "
                   "`auto`, takes `sports` when the data or credentials are here and otherwise the bundled samples, "
                   "saying so below — so *Run all* works everywhere."),
            ("code", "index = nb.ensure_dataset(DATASET)\nnb.styled(nb.dataset_table(DATASET), "
                     "caption=f\"{index.name}: images per split\")"),
            ("md", "## The images of this run\n\nThe same deterministic, class-balanced subset the runner draws "
                   "(`SPLIT`, `N_PER_CLASS`, `LIMIT`, `SEED`). Methods only ever see the gray image (BT.601 luma)."),
            ("code", "nb.dataset_grid(DATASET, split=SPLIT, n_per_class=N_PER_CLASS, "
                     "limit=LIMIT, seed=SEED, show=SHOW)"),
            ("md", "## Methods\n\n`ready` says whether a method's weights are already on this machine; the method "
                   "notebooks download what they need (or build tiny untrained models with `SMOKE = True`)."),
            ("code", "nb.styled(nb.methods_table(), caption=\"registered methods\")"),
            ("md", "## A first run: the gray baseline\n\nWrites `results/<RUN>/`: the gray inputs, the colour truth, "
                   "`images/gray/`, `timings.csv` and `run.json`. Rerunning resumes: finished images are kept."),
            ("code", run_cell()),
            ("code", "nb.image_grid(RUN, methods=METHODS, limit=SHOW)"),
            ("md", "Next: `01_cnn`, `02_coltran` and `03_controlnet` add their methods to this run; `04_evaluate` "
                   "scores every method in it; `05_report` writes the report."),
            ("md", "## Bigger runs: several GPUs, several machines\n\nOn a multi-GPU Colab/Kaggle/cluster box, run the "
                   "same command once per GPU through a launcher, from a terminal: `torchrun --nproc-per-node 2 -m "
                   "-- colorbench run --run RUN ...` or `accelerate launch --multi_gpu --num_processes 2 -m -- "
                   "colorbench run ...` (Slurm: `srun torchrun ...`). Each process colorizes its share of the "
                   "images into the same run folder (the images equal a one-process run's); stop and resume with "
                   "any number of GPUs. Runs made on different machines become one with `colorbench merge OUT RUN_A "
                   "RUN_B`, and outputs of other tools join with `colorbench import RUN --method NAME --from "
                   "FOLDER` (README: *Bigger runs*)."),
        ],
    ),
    "01_cnn": Spec(
        title="01 · The CNNs: colorbench's LPIPS-trained CNN and Zhang et al.'s baselines",
        purpose=(
            "Runs the convolutional colorizers on the run's images: `cnn-original` (the original project's trained "
            "checkpoint), `cnn-lpips` and `cnn-mse` (the same network trained by colorbench with an LPIPS loss or "
            "with MSE on ab — the ablation), and Zhang et al.'s `eccv16` and `siggraph17` (released weights, the "
            "authors' pipeline). With `TRAIN = True` it first trains `cnn-lpips` and `cnn-mse` on the dataset's "
            "train split and shows their learning curves. Fast on a GPU, fine on a CPU for a few images."
        ),
        extras="cnn",
        methods='["cnn-original", "cnn-lpips", "cnn-mse", "eccv16", "siggraph17"]',
        gpu=True,
        params='''METHOD_OPTIONS = {}       # per method, e.g. {"eccv16": {"temperature": 0.38}, "cnn-lpips": {"checkpoint": "mine"}}
TRAIN = False             # train cnn-lpips and cnn-mse first (GPU recommended; "sports" trains on its train split)
EPOCHS = 12               # training epochs (TRAIN only)
TRAIN_LIMIT = None        # train on the first N images only (quick tries; TRAIN only)''',
        cells=[
            ("md", "## Train (optional)\n\nSkipped unless `TRAIN = True`. Checkpoints go to "
                   "`models/cnn/lpips/` and `models/cnn/mse/` (`smoke-lpips/`, `smoke-mse/` in smoke runs, which "
                   "train with a random LPIPS trunk for a few steps — meaningless, but every line runs). Running it "
                   "again resumes: a finished training is reused, an interrupted one goes on. Without "
                   "training, `cnn-lpips`/`cnn-mse` use whatever checkpoints are already there, or are skipped "
                   "with the reason."),
            ("code", "from colorbench.methods.cnn.notebook import use_trained_checkpoints\n"
                     "from colorbench.train import TrainConfig, plot_history, train_or_resume\n\n"
                     "if TRAIN:  # smoke runs write smoke-lpips/ and smoke-mse/, never over real checkpoints\n"
                     "    common = dict(data=DATASET, epochs=EPOCHS, limit=TRAIN_LIMIT, seed=SEED, device=DEVICE,\n"
                     "                  **({\"batch_size\": BATCH_SIZE} if BATCH_SIZE else {}),\n"
                     "                  lpips_calibrated=not SMOKE)\n"
                     "    lpips_run = train_or_resume(TrainConfig(loss=\"lpips\", out=\"smoke-lpips\" if SMOKE else "
                     "\"lpips\", **common), progress=env.progress)\n"
                     "    mse_run = train_or_resume(TrainConfig(loss=\"mse\", out=\"smoke-mse\" if SMOKE else \"mse\", "
                     "**common), progress=env.progress)\n"
                     "    plot_history([lpips_run.history, mse_run.history], labels=[\"LPIPS loss\", \"MSE loss\"])\n"
                     "    # the run below uses the checkpoints just trained (run.json records them), unless you chose\n"
                     "    METHOD_OPTIONS = use_trained_checkpoints(METHOD_OPTIONS, {\"cnn-lpips\": lpips_run, "
                     "\"cnn-mse\": mse_run})"),
            ("md", "## Run\n\nMissing weights are downloaded once (`cnn-original` into `models/`, Zhang et al.'s "
                   "into torch.hub's cache, `TORCH_HOME`); a method whose weights cannot be had is listed as "
                   "skipped with the fix, never faked."),
            ("code", run_cell(", method_options=METHOD_OPTIONS")),
            ("code", "nb.image_grid(RUN, methods=METHODS, limit=SHOW)"),
            ("md", "Next: `02_coltran`, `03_controlnet`, then `04_evaluate` to score everything."),
        ],
    ),
    "02_coltran": Spec(
        title="02 · The transformers: ColTran and DDColor",
        purpose=(
            "Runs the transformer family on the run's images. **ColTran** (Kumar, Weissenborn & Kalchbrenner, ICLR "
            "2021): an axial transformer that samples a coarse 64×64 colouring (512 colours), then a colour upsampler "
            "and a spatial upsampler to 256×256 — a PyTorch port of the released checkpoints, checked against the "
            "official code (greedy samples equal except at near-ties); it sees the centre square of each photo and "
            "samples, so several outputs per image are possible (`SAMPLES_PER_IMAGE`). **DDColor** (Kang et al., "
            "ICCV 2023): a ConvNeXt encoder and a transformer colour decoder whose queries predict the colours in one "
            "pass. Both are L-merged onto the full input. Shows the family's images, its cost per image and stage, "
            "and ColTran stage by stage. Needs a GPU for ColTran's real runs (minutes per image on a CPU)."
        ),
        extras="coltran",
        methods='["coltran", "ddcolor"]',
        gpu=True,
        params='''SAMPLES_PER_IMAGE = 1     # K outputs per image (04 scores mean-of-K and best-of-K)
METHOD_OPTIONS = {}       # e.g. {"coltran": {"mode": "argmax"}, "ddcolor": {"variant": "paper_tiny"}}
STAGE_IMAGES = 3          # images shown stage by stage (each is sampled again)''',
        cells=[
            ("md", "## The family\n\nWhich transformer colorizers this installation has and whether each can run "
                   "here (a method this colorbench does not know is listed and left out of the run)."),
            ("code", "from colorbench.notebook.family import family_table, known_methods\n\n"
                     "nb.styled(family_table(METHODS), caption=\"the transformer methods\")"),
            ("md", "## Run\n\nColTran's converted weights live in `models/coltran/`; if they are absent, the release "
                   "(about 1 GB) is downloaded once and converted with TensorFlow (preinstalled in Colab; locally "
                   "`pip install 'colorbench[convert]'`, or `colorbench coltran convert`). DDColor's come from the "
                   "Hugging Face hub (`piddnad/...`, into `HF_HOME`). A method whose weights cannot be had is "
                   "skipped with the fix, never faked."),
            ("code", run_cell(", samples_per_image=SAMPLES_PER_IMAGE,\n                   "
                              "method_options=METHOD_OPTIONS", methods="known_methods(METHODS)")),
            ("code", "nb.image_grid(RUN, methods=config.methods, limit=SHOW)"),
            ("md", "## Cost\n\nSeconds per image in each stage the methods report (ColTran: colorizer and the two "
                   "upsamplers), from the run's `timings.csv`."),
            ("code", "nb.styled(nb.stage_table(RUN, methods=config.methods), caption=\"seconds per image by stage\", "
                     "smoke=SMOKE, precision=3)"),
            ("md", "## Inside ColTran: the three stages\n\nStage 1 samples a coarse colouring at 64×64 from 512 "
                   "colours (3 bits per channel); stage 2 refines the colours at 64×64; stage 3 upsamples to "
                   "256×256. Same seeds as the run, so stage 3 is what the run's output was made from (before the "
                   "L-merge and the placement on the full photo)."),
            ("code", "from colorbench.methods import get_method, item_seed\n\n"
                     "method = get_method(\"coltran\", smoke=SMOKE, **METHOD_OPTIONS.get(\"coltran\", {}))\n"
                     "method.load(env.device)\n"
                     "inputs = nb.run_inputs(RUN, limit=STAGE_IMAGES)\n"
                     "stages = method.pipeline.run(inputs.grays, mode=method.mode, temperature=method.temperature,\n"
                     "                             seeds=[item_seed(SEED, i) for i in inputs.ids], "
                     "official=method.official)\n"
                     "method.unload()\n"
                     "nb.array_grid({\"gray input\": inputs.grays, \"1 · colorizer, 64², 512 colours\": "
                     "stages.coarse_rgb_64,\n"
                     "               \"2 · colour upsampler, 64²\": stages.rgb_64, \"3 · spatial upsampler, "
                     "256²\": stages.rgb_256},\n"
                     "              row_names=inputs.ids, caption=\"ColTran stage by stage\", smoke=SMOKE)"),
        ],
    ),
    "03_controlnet": Spec(
        title="03 · The diffusion models: Stable Diffusion 1.5 with a Canny or a brightness ControlNet",
        purpose=(
            "Runs the diffusion family on the run's images, all Stable Diffusion 1.5 steered by a ControlNet: "
            "`controlnet-canny` (generated from noise, steered by the Canny edges of the gray input), "
            "`controlnet-canny-img2img` (the same, starting from the gray photo) and `controlnet-brightness` "
            "(ioclab's ControlNet trained to colorize: it is conditioned on the gray input itself). The models never "
            "see colour — only the gray input (or its edges) and a prompt — and every output is L-merged onto the "
            "input's lightness before scoring. Shows the family's images and cost, what each ControlNet sees, and "
            "how the prompt preset changes the result. Needs a GPU for real runs (minutes per image on a CPU)."
        ),
        extras="diffusion",
        methods='["controlnet-canny", "controlnet-canny-img2img", "controlnet-brightness"]',
        gpu=True,
        params='''SAMPLES_PER_IMAGE = 1     # K outputs per image (stochastic: 04 scores mean-of-K and best-of-K)
METHOD_OPTIONS = {}       # per method, e.g. {"controlnet-brightness": {"controlnet_scale": 0.8}}, or
                          # {"diffusion": {"steps": 30}} for every diffusion method
PRESETS = ["original", "label"]  # prompt presets compared on a few images below
PRESET_METHODS = ["controlnet-canny", "controlnet-brightness"]  # the methods compared under each preset''',
        cells=[
            ("md", "## The family\n\nWhich diffusion colorizers this installation has and whether each can run here "
                   "(without the `diffusion` extra they are listed with the command that installs it)."),
            ("code", "from colorbench.notebook.family import family_table, known_methods\n\n"
                     "nb.styled(family_table(METHODS), caption=\"the diffusion methods\")"),
            ("md", "## Run\n\nWeights (SD 1.5 about 4 GB, each ControlNet about 1.5 GB) are downloaded once into the "
                   "Hugging Face cache (`HF_HOME`; on Drive with `USE_DRIVE`). Each image is generated with its own "
                   "seed, so any image can be regenerated alone."),
            ("code", run_cell(", samples_per_image=SAMPLES_PER_IMAGE,\n                   "
                              "method_options=METHOD_OPTIONS", methods="known_methods(METHODS)")),
            ("code", "nb.image_grid(RUN, methods=config.methods, limit=SHOW)"),
            ("md", "## Cost\n\nSeconds per image in each stage (making the control image; denoising and decoding), "
                   "from the run's `timings.csv`."),
            ("code", "nb.styled(nb.stage_table(RUN, methods=config.methods), caption=\"seconds per image by stage\", "
                     "smoke=SMOKE, precision=3)"),
            ("md", "## What the ControlNets see\n\nThe gray input framed on the model's square canvas (padding keeps "
                   "the aspect ratio): the Canny ControlNet sees its edges, the brightness ControlNet the gray input "
                   "itself. Besides the prompt, that is all that steers the colours."),
            ("code", "from colorbench.methods.diffusion.notebook import preset_table\n"
                     "from colorbench.notebook.diffusion import conditioning_grid, preset_grid\n\n"
                     "inputs = nb.run_inputs(RUN, limit=3)\n"
                     "conditioning_grid(inputs.grays, row_names=inputs.ids, methods=config.methods, "
                     "method_options=METHOD_OPTIONS, smoke=SMOKE)"),
            ("md", "## Prompt presets\n\nThe same images and seeds under each preset, so the differences come from "
                   "the prompt alone (raw outputs, before the L-merge)."),
            ("code", "nb.styled(preset_table(inputs.labels[0] or \"a scene\"), caption=\"prompt presets\")"),
            ("code", "preset_grid(inputs.grays, labels=inputs.labels, row_names=inputs.ids, methods=PRESET_METHODS, "
                     "presets=PRESETS,\n            seed=SEED, method_options=METHOD_OPTIONS, smoke=SMOKE, "
                     "device=env.device)"),
        ],
    ),
    "04_evaluate": Spec(
        title="04 · Evaluate",
        purpose=(
            "Scores every method in the run folder against the true colours: LPIPS (AlexNet, v0.1 — the headline), "
            "PSNR, SSIM, CIEDE2000 and colourfulness per image, and FID per method. Every output was L-merged onto "
            "the input's lightness, so the numbers compare colour, not structure. A metric whose weights cannot be "
            "had is marked unavailable with the fix — never faked. Run it after 00–03 with the same `RUN`; run it "
            "again after adding a method."
        ),
        extras="metrics",
        methods='"auto"          # methods shown in the grid ("auto": all); scoring covers every method in RUN',
        gpu=True,
        params='''LPIPS_NET = "alex"        # alex (the LPIPS authors' choice for evaluation) | vgg
FID = True                # FID per method (one Inception pass per image; the slowest part on a CPU)''',
        cells=[
            ("md", "## Score\n\n`metrics.csv` gets one row per (method, image, sample); `metrics.json` records how "
                   "each metric was computed. Smoke runs use a random LPIPS trunk and stand-in Inception weights "
                   "(labelled *not LPIPS* / *not FID*) so those code paths run offline."),
            ("code", "from colorbench.metrics import score_run, smoke_scoring\n\n"
                     "scores = score_run(env.run_path, lpips_net=LPIPS_NET, device=DEVICE, fid=FID, progress=env.progress,\n"
                     "                   **({\"batch_size\": BATCH_SIZE} if BATCH_SIZE else {}), "
                     "**smoke_scoring(SMOKE, fid=FID))\n"
                     "nb.styled(nb.metric_status(scores.summary), caption=\"how the scores were made\", smoke=SMOKE)"),
            ("md", "## Quality per method\n\nMeans over images with 95% bootstrap confidence intervals; the best "
                   "value of each column is highlighted. Stochastic methods are scored mean-of-K per image."),
            ("code", "from colorbench.report.aggregate import method_summary, per_image, truth_colorfulness\n"
                     "from colorbench.report.build import headline_table\n\n"
                     "per_image_scores = per_image(scores.frame)\n"
                     "summary_table = method_summary(per_image_scores, scores.frame, scores.summary, seed=SEED)\n"
                     "nb.report_table(headline_table(summary_table, scores.summary, "
                     "truth_colorfulness(per_image_scores)), smoke=SMOKE)"),
            ("md", "## The images, with their scores\n\nThe headline metric (LPIPS, or CIEDE2000 when LPIPS is "
                   "unavailable) under each output."),
            ("code", "from colorbench.report.aggregate import headline_metric\n"
                     "from colorbench.report.grids import metric_captions\n\n"
                     "captions = metric_captions(per_image_scores, per_image_scores[\"id\"].unique(), "
                     "headline_metric(scores.frame))\n"
                     "nb.image_grid(RUN, methods=METHODS, limit=SHOW, captions=captions)"),
            ("md", "Next: `05_report` turns these scores into tables, figures, paired statistics and `report.html`."),
        ],
    ),
    "05_report": Spec(
        title="05 · Report",
        purpose=(
            "Turns the scores of 04 into the report: the protocol, the headline table with confidence intervals, "
            "paired comparisons (Wilcoxon, Holm-corrected), win rates, per-class results, cost next to quality, "
            "figures and image grids — written to `results/<RUN>/tables/`, `figures/` and one self-contained "
            "`report.html`, linked and shown below."
        ),
        extras="metrics",
        methods='"auto"          # the report covers every scored method in RUN',
        gpu=False,
        params='''BOOTSTRAP = 2000          # bootstrap resamples for the confidence intervals''',
        cells=[
            ("md", "## Build the report"),
            ("code", "from colorbench.report import ReportOptions, build_report\n\n"
                     "options = ReportOptions(n_boot=BOOTSTRAP, seed=SEED, grid_images=SHOW)\n"
                     "report_path, content = build_report(env.run_path, options, return_content=True)\n"
                     "nb.report_link(RUN)"),
            ("md", "## What the run found\n\nThe verdict, written from the numbers below (it also heads the report "
                   "and `colorbench report`'s output)."),
            ("code", "nb.verdict(RUN, smoke=SMOKE)"),
            ("md", "## Headline and paired comparisons"),
            ("code", "nb.report_table(content.tables[\"headline\"], smoke=SMOKE)"),
            ("code", "nb.paired_statistics(content, smoke=SMOKE)"),
            ("code", "nb.report_table(content.tables[\"cost\"], smoke=SMOKE)"),
            ("md", "## Where each method came from\n\nMethods made by this run, merged in from runs made on other "
                   "machines (`colorbench merge`), or imported from other tools' outputs (`colorbench import`, taken "
                   "through the same L-merge); `run.json` keeps the full record."),
            ("code", "from colorbench.merge import method_origins\n\n"
                     "nb.styled(method_origins(env.run_path), caption=\"origin of every method's images\")"),
            ("md", "## Figures\n\nThe photo grids (a fixed random selection, each method's best and worst images) "
                   "are in the report below."),
            ("code", "nb.figures_html(content.figures, content.figure_captions, smoke=SMOKE)"),
            ("md", "## The whole report\n\nThe same file as the link above: one HTML file with everything embedded, "
                   "to mail, attach to a review or open offline."),
            ("code", "nb.embed_report(RUN)"),
        ],
    ),
    "06_eye_test": Spec(
        title="06 · The eye test",
        purpose=(
            "Do the metrics agree with people? Judge the run's colorizations blind — two methods' outputs of one "
            "gray input side by side, methods hidden, sides random — here in the notebook or in the browser with "
            "`colorbench judge RUN`. Both write to `results/<RUN>/judgements.sqlite`. Then: a Bradley–Terry ranking "
            "with bootstrap CIs, win rates, agreement between judges, and for every metric how often it prefers the "
            "image people preferred. `05_report` adds the same as an *Eye test* section once judgements exist."
        ),
        extras="metrics,judge",
        methods='"auto"          # every method of RUN is judged',
        gpu=False,
        params='''JUDGE = "me"              # your name: the only thing stored about you
MODE = "pair"             # pair (which looks more natural?) | real-or-fake (is this a real colour photo?)
BOOTSTRAP = 1000          # bootstrap resamples for the Bradley–Terry CIs''',
        cells=[
            ("md", "## Judge here\n\nClick an answer for each pair; *show the true colours* is off by default and "
                   "recorded with your answer when used. Every click is stored at once — stop whenever you like, "
                   "and run the cell again later to go on."),
            ("code", "from colorbench.judge.widget import JudgingWidget\n\n"
                     "JudgingWidget(env.run_path, judge=JUDGE, mode=MODE)"),
            ("md", "## …or in the browser\n\nOn your machine: `colorbench judge RUN` and open "
                   "http://127.0.0.1:8765/ (keys ← → ↓ B, V for the true colours). Several people can judge at once, "
                   "each with their own name; `--host 0.0.0.0` opens it to your network. In Colab the notebook "
                   "widget above is the way."),
            ("md", "## What the judgements say\n\nRun this after judging (a *Run all* before anyone judged shows "
                   "how to start)."),
            ("code", "from colorbench.judge.report import eye_test_view\n\n"
                     "eye_test_view(env.run_path, n_boot=BOOTSTRAP, seed=SEED, smoke=SMOKE)"),
        ],
    ),
}


def _cell_id(stem: str, i: int) -> str:
    return f"{stem.split('_', 1)[0]}-{i:02d}"


def build(stem: str) -> nbformat.NotebookNode:
    spec = NOTEBOOKS[stem]
    file = f"{stem}.ipynb"
    intro = (f"[![Open In Colab]({BADGE})]({COLAB.format(file=file)})\n\n# {spec.title}\n\n{spec.purpose}\n\n"
             f"*Run all* (Colab: Runtime → Run all) goes top to bottom with no edits; change the parameters in the "
             f"next cell, or from a terminal: `colorbench notebooks run --only {stem.split('_', 1)[0]} --params "
             f"KEY=VALUE`.")
    params = shared_parameters(spec.methods) + ("\n" + spec.params if spec.params else "")
    cells = [new_markdown_cell(intro), new_code_cell(params, metadata={"tags": ["parameters"]}),
             new_code_cell(setup_source(spec.extras))]
    for kind, source in spec.cells:
        cells.append(new_markdown_cell(source) if kind == "md" else new_code_cell(source))
    for i, cell in enumerate(cells):
        cell["id"] = _cell_id(stem, i)
    metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "toc_visible": True},
    }
    if spec.gpu:  # Colab opens the notebook on a GPU runtime
        metadata["accelerator"] = "GPU"
        metadata["colab"]["gpuType"] = "T4"
    nb = new_notebook(cells=cells, metadata=metadata)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def render(stem: str) -> str:
    nb = build(stem)
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from its source here")
    args = parser.parse_args(argv)
    stale = 0
    for stem in NOTEBOOKS:
        path = HERE / f"{stem}.ipynb"
        text = render(stem)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                print(f"{path.name} is out of date: run python notebooks/build_notebooks.py")
                stale += 1
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.name}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
