"""What notebooks show besides figures: Markdown sentences and banners, HTML tables.

Figures are in :mod:`fmnist_helpers.viz`; everything here returns an ``IPython.display`` object
(or, for :func:`full_scale_display`, a table of strings shared with ``benchmarks/accuracy.md``).
"""

from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML, Markdown

from fmnist_helpers.fullscale import STANDARD_RECIPE, describe_recipe
from fmnist_helpers.profiles import get_profile
from fmnist_helpers.sections import job_title
from fmnist_helpers.seed_report import SEED_RECIPE
from fmnist_helpers.studies import STUDIES, get_study
from fmnist_helpers.verdicts import VERDICT_COLORS


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


def recipe_departures(profile_name: str):
    """Where this page's training departs from the seed's, next to its numbers.

    Args:
        profile_name: The page's profile.

    Returns:
        An ``IPython.display.Markdown`` table (setting, the seed, this page), with the settings
        that differ in bold.

    Raises:
        ValueError: If the profile is unknown.
    """
    p = get_profile(profile_name)
    base = p.baseline()
    train = p.train_size or SEED_RECIPE["train_images"]
    steps = -(-train // p.batch_size) * p.epochs
    seed = SEED_RECIPE
    rows = [
        ("training images", f"{seed['train_images']:,}", f"{train:,}"),
        ("model width (conv1 filters)", f"{seed['conv1_filters']}",
         f"{round(seed['conv1_filters'] * p.width)} (width {p.width:g})"),
        ("batch size", f"{seed['batch_size']:,}", f"{p.batch_size:,}"),
        ("optimizer, learning rate", f"{seed['optimizer']} {seed['learning_rate']:g}",
         f"{'Adam' if base.optimizer == 'adam' else base.optimizer} {p.learning_rate:g}"),
        ("training steps", f"about {seed['steps']:,}", f"{steps:,} ({p.epochs} epochs)"),
        ("initialization", seed["initializer"],
         "Xavier" if base.initializer == "xavier" else base.initializer),
        ("dropout rate", f"{seed['dropout']:g}", f"{base.dropout:g}"),
    ]
    lines = ["| setting | the seed | this page |", "|---|---|---|"]
    for name, theirs, ours in rows:
        same = (abs(steps - seed["steps"]) <= 0.1 * seed["steps"] if name == "training steps"
                else theirs.split(" (")[0] == ours.split(" (")[0])
        lines.append(f"| {name} | {theirs} | {ours if same else f'**{ours}**'} |")
    note = ("" if p.name == "full" else
            f"\n\nThe {p.name} profile departs from the seed where bold: its numbers say what "
            "this budget shows; a verdict that needs converged runs says so in the ledger "
            "(\"not testable at this budget\").")
    return Markdown(f"**This page's recipe against the seed's** ({p.name} profile):\n\n"
                    + "\n".join(lines) + note)


def training_procedure(profile_name: str):
    """The training procedure of the profile's baseline run, in words (the seed's report hides
    its code and never describes it).

    Raises:
        ValueError: If the profile is unknown.
    """
    p = get_profile(profile_name)
    c = p.baseline()
    train = p.train_size or SEED_RECIPE["train_images"]
    per_epoch = -(-train // p.batch_size)
    val = p.val_size or 6000
    test = p.test_size or 10_000
    return Markdown(
        f"**How a run trains** ({p.name} profile). The model starts from "
        f"{'Xavier (Glorot uniform)' if c.initializer == 'xavier' else c.initializer} weights "
        f"and zero biases. Each epoch shuffles the {train:,} training images and feeds them in "
        f"mini-batches of {p.batch_size}: {per_epoch} steps per epoch, {per_epoch * p.epochs:,} "
        f"over {p.epochs} epochs. Each step computes the softmax cross-entropy of the 10 logits "
        f"against the labels and updates every weight with {c.optimizer.capitalize()} at a "
        f"constant learning rate of {p.learning_rate:g}; dropout (rate {c.dropout:g}) drops "
        "units of the dense layers during training only. After every epoch the loss and accuracy "
        f"are measured on the {val:,} validation images, which never train the model; the "
        f"{test:,} test images are evaluated once, after the last epoch. No early stopping, no "
        "schedule, no augmentation in this baseline; TensorFlow's deterministic ops and a "
        "fixed seed make a run repeatable on the same machine.")


def width_note(filters: int, width: float):
    """Say how many of the seed's conv1 filters a page's model has (narrower profiles).

    Args:
        filters: conv1's filters in the model shown.
        width: The model's width multiplier.

    Returns:
        An ``IPython.display.Markdown`` line.
    """
    seed = SEED_RECIPE["conv1_filters"]
    if filters == seed:
        return Markdown(f"conv1 has the seed's {seed} filters (full width).")
    return Markdown(f"*This model is {width:g} of the seed's width: conv1 has {filters} "
                    f"filters where the seed's has {seed}, so the grids below show {filters}.*")


def architectures(table: pd.DataFrame):
    """``models.architecture_table`` as an HTML table: whole layer lists, counts with commas.

    Returns:
        An ``IPython.display.HTML`` object.
    """
    counts = {c: (lambda v: f"{int(v):,}") for c in table.columns if c.startswith("parameters")}
    styled = table.to_html(formatters=counts, escape=True, justify="left")
    return HTML(styled.replace("<td>", "<td style='text-align:left'>"))


def run_summary(run):
    """A training run as a short readable table: what was trained and what it reached.

    Args:
        run: A :class:`runs.Run`.

    Returns:
        An ``IPython.display.Markdown`` table.
    """
    c, r = run.config, run.result
    rows = [
        ("model", f"{c.model}, width x{c.width:g}, {r.get('parameters', 0):,} parameters"),
        ("data", (f"{r['train_images']:,} training, {r['val_images']:,} validation, "
                  f"{r['test_images']:,} test images")),
        ("training", (f"{c.epochs} epochs, batch {c.batch_size}, {c.optimizer} lr "
                      f"{c.learning_rate:g}, dropout {c.dropout:g}, seed {c.seed}")),
        ("validation accuracy", (f"{r['val_accuracy']:.2%} at the last epoch "
                                 f"(best {r['best_val_accuracy']:.2%})")),
        ("test accuracy", f"{r['test_accuracy']:.2%}"),
        ("training time", f"{r['train_seconds']:.0f} s, {r['images_per_second']:,.0f} images/s"),
        ("stored as", f"run {run.key} ({'reused' if run.reused else 'trained by this build'})"),
    ]
    return Markdown("| | |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows))


def claims_table(ledger: pd.DataFrame, others: dict[int, dict[str, str]] | None = None):
    """The claims ledger as an HTML table: per claim its metric, the difference with its 95%
    interval, seeds, the verdict (marked where another profile's ledger differs), Holm, the
    evidence and the section that shows it.

    Args:
        ledger: ``claims.judge_all`` output.
        others: ``claims.other_verdicts`` output: verdicts of other profiles that differ.

    Returns:
        An ``IPython.display.HTML`` object.
    """
    others = others or {}
    cell = "style='text-align:left;vertical-align:top'"
    rows = []
    for number, row in ledger.iterrows():
        color = VERDICT_COLORS[row["verdict"]]
        section = row["section"]
        study = section.removeprefix("08_experiments_")
        title = (f"Experiments: {STUDIES[study].title}" if study in STUDIES and study != section
                 else job_title(section))
        verdict = (f"<span style='color:{color};font-weight:bold'>"
                   f"{html.escape(row['verdict'])}</span>")
        if number in others:
            elsewhere = "; ".join(f"{p}: {v}" for p, v in sorted(others[number].items()))
            verdict += (f" <span title='differs on another profile' style='color:#b00020'>"
                        f"&#8224;</span><br><small>{html.escape(elsewhere)}</small>")
        seeds = "" if pd.isna(row["seeds"]) else str(int(row["seeds"]))
        values = [str(number),
                  (f"{html.escape(row['claim'])}<br><small>{html.escape(row['seed_section'])}: "
                   f"<em>&ldquo;{html.escape(row['seed_words'])}&rdquo;</em></small>"),
                  html.escape(row["metric"]), html.escape(row["difference"]), seeds,
                  verdict, html.escape(row["holm"]), html.escape(row["profile"]),
                  f"<small>{html.escape(row['evidence'])}</small>",
                  f"<a href='{html.escape(section)}.html'>{html.escape(title)}</a>"]
        rows.append("<tr>" + "".join(f"<td {cell}>{v}</td>" for v in values) + "</tr>")
    headings = ("#", "claim (the seed's words)", "metric", "difference (95% CI)", "seeds (n)",
                "verdict", "after Holm", "profile", "evidence", "shown in")
    head = "".join(f"<th {cell}>{h}</th>" for h in headings)
    note = ("<p><small>&#8224; the verdict differs on another profile's ledger (built on this "
            "machine); that profile's verdict is shown under it.</small></p>" if others else "")
    return HTML("<table class='claims' style='font-size:0.85em'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>" + note)


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
                 "test accuracy": "not run yet", "95% interval": "", "spread": "",
                 "validation accuracy": "",
                 "epochs": str(row["epochs"]), "training per run": "", "images/s": "",
                 "target": f"{row['target']:.1%} ({row['target_from']})", "reached": "",
                 "from": row.get("source", "")}
        if row["seeds"]:
            shown.update({
                "test accuracy": f"{row['test_accuracy']:.2%}",
                "95% interval": ("one seed" if row["seeds"] == 1 else
                                 f"{row['ci_low']:.2%} to {row['ci_high']:.2%}"),
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

