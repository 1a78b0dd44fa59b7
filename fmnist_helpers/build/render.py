"""Rendering an executed section notebook to the report's HTML page (nbconvert).

The profile placeholder of the first markdown cell is filled in, TensorFlow's start-up log lines
are dropped from the outputs, and the page uses the project's nbconvert template
(``templates/fmnist``).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

TEMPLATE_DIR = Path(__file__).parent / "templates"


def render(executed: Path, html_path: Path, *, show_code: bool) -> None:
    """Render an executed notebook to standalone HTML with embedded images.

    Args:
        executed: The executed ``.ipynb``.
        html_path: Where to write the HTML.
        show_code: Keep the code cells (otherwise only narrative and outputs).
    """
    exporter = HTMLExporter(template_name="fmnist",
                            extra_template_basedirs=[str(TEMPLATE_DIR)])
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    notebook = nbformat.read(executed, as_version=4)
    profile = fill_profile(notebook)
    drop_library_noise(notebook)
    body, _ = exporter.from_notebook_node(notebook, resources={"fmnist_profile": profile})
    html_path.write_text(body, encoding="utf-8")


PROFILE_PLACEHOLDER = "{{profile}}"


def fill_profile(notebook) -> str | None:
    """Replace ``{{profile}}`` in markdown cells with the name of the profile the notebook ran with.

    Only the name: each notebook's first output is ``display.profile_banner``, which states the
    profile's description and settings (saying them twice crowded every page's top).

    Args:
        notebook: An executed ``nbformat`` notebook (papermill records its parameters in the
            metadata); changed in place.

    Returns:
        The profile's name, or ``None`` if the notebook has none.
    """
    parameters = notebook.metadata.get("papermill", {}).get("parameters", {})
    name = parameters.get("profile")
    if name is None:
        for cell in notebook.cells:  # not injected: the notebook's own default
            if "parameters" in cell.metadata.get("tags", []):
                for line in cell.source.splitlines():
                    if line.startswith("profile"):
                        name = line.split("=", 1)[1].split("#")[0].strip().strip("\"'")
    text = f"`{name}`"  # the banner below states its description and settings
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and PROFILE_PLACEHOLDER in cell.source:
            cell.source = cell.source.replace(PROFILE_PLACEHOLDER, text)
    return name


_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWE]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\]"
    r"|To enable the following instructions: |.*This TensorFlow binary is optimized)"
)


def drop_library_noise(notebook) -> None:
    """Remove TensorFlow's start-up log lines from stderr outputs (rendering only).

    TensorFlow's C++ logging writes lines such as ``I0000 00:00:... port.cc:153] oneDNN ...``
    before ``TF_CPP_MIN_LOG_LEVEL`` takes effect; they say nothing about the study. Other
    stderr output (progress lines, warnings) is kept. The executed notebook keeps everything.
    """
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = [line for line in output["text"].splitlines(keepends=True)
                         if not _NOISE.match(line)]
                if not "".join(lines).strip():
                    continue
                output["text"] = "".join(lines)
            kept.append(output)
        cell["outputs"] = kept
