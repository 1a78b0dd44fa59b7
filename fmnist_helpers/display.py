"""What notebooks show besides figures: Markdown sentences and banners, HTML tables.

Figures are in :mod:`fmnist_helpers.viz`; everything here returns an ``IPython.display`` object
(or, for :func:`full_scale_display`, a table of strings shared with ``benchmarks/accuracy.md``).
"""

from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML, Markdown

from fmnist_helpers.claims import VERDICT_COLORS
from fmnist_helpers.fullscale import STANDARD_RECIPE, describe_recipe
from fmnist_helpers.profiles import get_profile
from fmnist_helpers.sections import job_title
from fmnist_helpers.studies import STUDIES, get_study


def findings(sentences: list[str]):
    """Show generated sentences as a Markdown bullet list in a notebook.

    Args:
        sentences: Text derived from measured numbers.

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    return Markdown("\n".join(f"- {s}" for s in sentences))


def profile_banner(profile_name: str):
    """Show which profile a notebook runs with and what that means.

    Args:
        profile_name: ``smoke``, ``quick`` or ``full``.

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    p = get_profile(profile_name)
    sizes = ", ".join(f"{name} {'all' if size is None else f'{size:,}'}" for name, size in
                      (("train", p.train_size), ("validation", p.val_size), ("test", p.test_size)))
    note = ("" if p.name == "full" else
            " Numbers here are **not** the seed report's full-scale results.")
    return Markdown(
        f"> **Profile `{p.name}`** — {p.description}: images {sizes}; {p.epochs} epochs; "
        f"model width x{p.width}; batch {p.batch_size}; Adam learning rate {p.learning_rate:g}; "
        f"{p.seeds} seeds per comparison.{note}")


def study_intro(name: str):
    """Introduce a study: what it compares, the seed's figure and words, the question.

    Args:
        name: A study name from ``studies.STUDIES``.

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    study = get_study(name)
    arms = "; ".join(f"{v.group + ': ' if v.group else ''}{v.label}" for v in study.variants)
    return Markdown(
        f"## {study.title} (seed {study.seed_figure})\n\n"
        f"**Compared:** {arms}.\n\n"
        f"**The seed says:** \"{study.seed_says}\"\n\n"
        f"**Question:** {study.question} Everything not named here is as in the profile's baseline "
        "ConvNet run.")


def claims_table(ledger: pd.DataFrame):
    """The claims ledger as an HTML table: claim, the seed's words, our evidence, verdict, link.

    Args:
        ledger: ``claims.judge_all`` output.

    Returns:
        An ``IPython.display.HTML`` object.
    """
    cell = "style='text-align:left;vertical-align:top'"
    rows = []
    for number, row in ledger.iterrows():
        color = VERDICT_COLORS[row["verdict"]]
        section = row["section"]
        study = section.removeprefix("08_experiments_")
        title = (f"Experiments: {STUDIES[study].title}" if study in STUDIES and study != section
                 else job_title(section))
        values = [str(number), html.escape(row["seed_section"]), html.escape(row["claim"]),
                  f"<em>&ldquo;{html.escape(row['seed_words'])}&rdquo;</em>",
                  html.escape(row["evidence"]),
                  (f"<span style='color:{color};font-weight:bold;white-space:nowrap'>"
                  f"{html.escape(row['verdict'])}</span>"),
                  f"<a href='{html.escape(section)}.html'>{html.escape(title)}</a>"]
        rows.append("<tr>" + "".join(f"<td {cell}>{v}</td>" for v in values) + "</tr>")
    headings = ("#", "seed", "claim", "the seed's words", "our evidence", "verdict", "shown in")
    head = "".join(f"<th {cell}>{h}</th>" for h in headings)
    return HTML("<table class='claims' style='font-size:0.85em'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def headline(text: str):
    """Show one line in bold (e.g. the claims summary, which the index page reads back).

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    return Markdown(f"**{text}**")


def full_scale_display(table: pd.DataFrame) -> pd.DataFrame:
    """The full-scale table as display strings (one column per heading), for HTML or Markdown.

    Args:
        table: ``fullscale.full_scale_table`` output.

    Returns:
        A DataFrame of strings; rows without a stored run say "not run yet".
    """
    rows = []
    for title, row in table.iterrows():
        shown = {"model": title, "seeds": str(row["seeds"]),
                 "test accuracy": "not run yet", "spread": "", "validation accuracy": "",
                 "epochs": str(row["epochs"]), "training per run": "", "images/s": "",
                 "target": f"{row['target']:.1%} ({row['target_from']})", "reached": ""}
        if row["seeds"]:
            shown.update({
                "test accuracy": f"{row['test_accuracy']:.2%}",
                "spread": "one seed" if row["seeds"] == 1 else f"{row['spread']:.2%}",
                "validation accuracy": f"{row['val_accuracy']:.2%}",
                "training per run": f"{row['minutes']:.0f} min",
                "images/s": f"{row['images_per_s']:.0f}",
                "reached": "yes" if row["reached"] else "no"})
        rows.append(shown)
    return pd.DataFrame(rows)


def full_scale_table(table: pd.DataFrame):
    """The full-scale headline runs as an HTML table (``fullscale.full_scale_table`` output).

    Returns:
        An ``IPython.display.HTML`` object.
    """
    shown = full_scale_display(table)
    cell = "style='text-align:left;vertical-align:top'"
    head = "".join(f"<th {cell}>{html.escape(h)}</th>" for h in shown.columns)
    rows = ["<tr>" + "".join(f"<td {cell}>{html.escape(v)}</td>" for v in values) + "</tr>"
            for values in shown.itertuples(index=False)]
    note = (f"<p>Standard recipe: {html.escape(describe_recipe(STANDARD_RECIPE))}; random "
            "erasing adds rectangles of noise over 2-33% of half the images. Dropout 0.2 and "
            "the 30 epochs are the seed's.</p>")
    if not table["seeds"].all():
        note += ("<p>Rows not run yet are trained by <code>make accuracy</code> "
                 "(about an hour per run on 2 CPU cores).</p>")
    return HTML("<table class='full-scale' style='font-size:0.9em'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}")

