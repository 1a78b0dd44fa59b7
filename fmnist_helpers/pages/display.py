"""What notebooks show besides figures: Markdown sentences and banners, HTML tables.

Figures are in :mod:`fmnist_helpers.pages.viz`; everything here returns an ``IPython.display``
object (or, for :func:`full_scale_display`, a table of strings shared with
``benchmarks/accuracy.md``).
"""

from __future__ import annotations

import html
import re

import pandas as pd
from IPython.display import HTML, Markdown

from fmnist_helpers.core.profiles import VERDICTS_PROFILE, get_profile
from fmnist_helpers.core.sections import job_title
from fmnist_helpers.core.seed_report import SEED_RECIPE
from fmnist_helpers.ledger.claims import differences as claims_differences
from fmnist_helpers.ledger.verdicts import VERDICT_COLORS
from fmnist_helpers.study.fullscale import (
    FULL_SCALE_ROWS,
    SPEEDRUN_MINUTES,
    SPEEDRUN_RECIPE,
    STANDARD_RECIPE,
    describe_recipe,
    replay_note,
)
from fmnist_helpers.study.plan import grid_digest
from fmnist_helpers.study.studies import STUDIES, get_study


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
        profile_name: a name in ``profiles.PROFILES``.

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    p = get_profile(profile_name)
    sizes = ", ".join(f"{name} {'all' if size is None else f'{size:,}'}" for name, size in
                      (("train", p.train_size), ("validation", p.val_size), ("test", p.test_size)))
    note = ("" if p.name == "full" else
            " Numbers here are **not** the seed report's full-scale results.")
    return Markdown(
        f"> **Profile `{p.name}`** — {html.escape(p.description)}: images {sizes}; "
        f"{p.epochs} epochs; "
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


def recipe_departures(profile_name: str, *, whose: str = "this page"):
    """Where this page's training departs from the seed's, next to its numbers.

    Args:
        profile_name: The page's profile.
        whose: The column heading of the profile's settings (e.g. "the verdicts").

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
        ("precision", "float32", base.precision),
    ]
    lines = [f"| setting | the seed | {whose} |", "|---|---|---|"]
    for name, theirs, ours in rows:
        same = (abs(steps - seed["steps"]) <= 0.1 * seed["steps"] if name == "training steps"
                else theirs.split(" (")[0] == ours.split(" (")[0])
        lines.append(f"| {name} | {theirs} | {ours if same else f'**{ours}**'} |")
    note = ("" if p.name == "full" else
            f"\n\nThe {p.name} profile departs from the seed where bold: its numbers say what "
            "this budget shows; a verdict that needs converged runs says so in the ledger "
            "(\"not testable at this budget\").")
    return Markdown(f"**{whose[0].upper() + whose[1:]}: the recipe against the seed's** "
                    f"({p.name} profile):\n\n"
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
        mark = row.get("stability")
        if isinstance(mark, str) and mark.startswith("borderline"):
            verdict += (f"<br><small title='{html.escape(mark)}' style='color:#8a6d00'>"
                        "&#9680; borderline</small>")
        elif mark == "stable":
            verdict += "<br><small style='color:#555'>stable</small>"
        if number in others:
            elsewhere = "; ".join(f"{p}: {v}" for p, v in sorted(others[number].items()))
            verdict += (f" <span title='differs on another profile' style='color:#b00020'>"
                        f"&#8224;</span><br><small>{html.escape(elsewhere)}</small>")
        seeds = "" if pd.isna(row["seeds"]) else str(int(row["seeds"]))
        values = [str(number),
                  (f"{html.escape(row['claim'])}<br><small>{html.escape(row['seed_section'])}: "
                   f"<em>&ldquo;{html.escape(row['seed_words'])}&rdquo;</em></small>"),
                  html.escape(row["metric"]), html.escape(row["difference"]) + (
                      f"<br><small>{html.escape(row['rules_out'])}</small>"
                      if isinstance(row.get("rules_out"), str) and row["rules_out"] else ""),
                  seeds,
                  verdict, html.escape(row["holm"]), html.escape(row["profile"]),
                  f"<small>{html.escape(row['evidence'])}</small>",
                  f"<a href='{html.escape(section)}.html'>{html.escape(title)}</a>"]
        rows.append("<tr>" + "".join(f"<td {cell}>{v}</td>" for v in values) + "</tr>")
    headings = ("#", "claim (the seed's words)", "metric", "difference (95% CI)", "seeds (n)",
                "verdict", "after Holm", "profile", "evidence", "shown in")
    head = "".join(f"<th {cell}>{h}</th>" for h in headings)
    note = ("<p><small>&#8224; the verdict differs on another ledger (another profile built on "
            "this machine, the committed verdicts, or this build); that verdict is shown under "
            "it.</small></p>" if others else "")
    return HTML("<table class='claims' style='font-size:0.85em'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>" + note)


def verdicts_intro(verdicts, ledger: pd.DataFrame, profile_name: str):
    """Introduce the committed verdicts ledger beside this build's: its provenance, how many
    verdicts differ, or how to make it when none is committed.

    Args:
        verdicts: ``claims.read_verdicts()`` output (``None``: nothing committed).
        ledger: This build's ledger (``claims.judge_all`` output).
        profile_name: This build's profile.

    Returns:
        An ``IPython.display.Markdown`` object.
    """
    if verdicts is None:
        return Markdown(
            f"No ledger of the verdicts profile (`{VERDICTS_PROFILE}`) is committed in this "
            f"checkout: train its grid (`fmnist-report runs --profile {VERDICTS_PROFILE}`, a "
            "few hours on 2 cores), then commit its ledger (`fmnist-report records ledger "
            f"--profile {VERDICTS_PROFILE}`). Until then only this build's ledger "
            f"({profile_name} profile) below judges the claims.")
    differ = sorted(n for n in ledger.index if n in verdicts.ledger.index
                    and ledger.loc[n, "verdict"] != verdicts.ledger.loc[n, "verdict"])
    grid = verdicts.grid
    same = verdicts.profile == profile_name
    text = (f"**The verdicts** are the `{verdicts.profile}` profile's ledger, committed in "
            f"`records/ledgers/{verdicts.path.name}`: {verdicts.describe()}. Its runs are long "
            "enough for the baseline and the study variants to plateau by the convergence gate, "
            f"and every comparison has {verdicts.settings.get('seeds')} seeds (paired). "
            f"{grid.get('runs')} runs, {grid.get('train_seconds', 0) / 3600:.1f} hours of "
            "training summed over runs. ")
    if same:
        text += ("This build *is* that profile: its ledger below was judged again now; "
                 + (f"it differs from the committed one on claims {', '.join(map(str, differ))}."
                    if differ else "every verdict equals the committed one."))
    else:
        text += (f"This build's own ledger ({profile_name} profile) follows it; "
                 + (f"{len(differ)} of {len(ledger)} verdicts differ between the two (claims "
                    f"{', '.join(map(str, differ))}; marked &#8224;), a verdict being about its "
                    "profile's budget." if differ else "every verdict is the same on both."))
    if verdicts.profile != "full":
        text += "\n\n" + recipe_departures(verdicts.profile, whose="the verdicts").data
    if verdicts.stale:
        text += ("\n\n**Note:** the profile's settings have changed since this ledger was "
                 "judged; judge it again (`fmnist-report records ledger`).")
    changed = verdicts.full_scale_changed
    if changed:
        text += ("\n\n**Note:** full-scale runs have been trained or recorded since this ledger "
                 f"was judged ({', '.join(FULL_SCALE_ROWS[key][0] for key in changed)}), and "
                 "the full-scale claims rest on them; judge it again (`fmnist-report records "
                 f"ledger --profile {verdicts.profile}`).")
    judged = grid.get("digest")
    if judged and judged != grid_digest(verdicts.profile):
        text += ("\n\n**Note:** the runs of this ledger's grid are not the ones it was judged on "
                 "(a run trained again, or a record exported anew or missing: their final "
                 "accuracies differ); judge it again (`fmnist-report records ledger --profile "
                 f"{verdicts.profile}`).")
    return Markdown(text)


def verdicts_table(verdicts, ledger: pd.DataFrame, profile_name: str):
    """The committed verdicts ledger as a table, this build's verdict under each that differs.

    Args:
        verdicts: ``claims.read_verdicts()`` output (``None``: shows nothing).
        ledger: This build's ledger.
        profile_name: This build's profile.

    Returns:
        An ``IPython.display.HTML`` object (empty without a committed ledger).
    """
    if verdicts is None:
        return HTML("")
    if verdicts.profile == profile_name:
        return HTML("<p>(The same profile as this build: its table is below.)</p>")
    differ = {n: {f"this build ({profile_name})": v}
              for n, v in claims_differences(verdicts.ledger, ledger).items()}
    return claims_table(verdicts.ledger, differ)


def with_verdicts(others: dict[int, dict[str, str]], verdicts, ledger: pd.DataFrame):
    """``others`` (``claims.other_verdicts``) plus the committed verdicts that differ from
    ``ledger``'s, for :func:`claims_table` (the verdicts profile named "<profile> (verdicts)").
    """
    merged = {n: dict(v) for n, v in others.items()}
    if verdicts is not None and verdicts.profile != str(ledger["profile"].iloc[0]):
        for n, v in claims_differences(ledger, verdicts.ledger).items():
            merged.setdefault(n, {}).pop(verdicts.profile, None)
            merged[n][f"{verdicts.profile} (verdicts)"] = v
    return merged


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
                 "epochs": str(row["epochs"]), "precision": str(row.get("precision", "")),
                 "training per run": "", "images/s": "",
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
            "the 30 epochs are the seed's. Speedrun recipe (aiming at 94.5% test with every run "
            f"training within {SPEEDRUN_MINUTES} minutes on 2 CPU cores): "
            f"{html.escape(describe_recipe(SPEEDRUN_RECIPE))}.</p>")
    if not table["seeds"].all():
        note += ("<p>Rows not run yet are trained by <code>make accuracy</code> (on 2 CPU "
                 "cores about 1.5 hours per run with the seed's recipe, 3 to 4 with the standard "
                 "one).</p>")
    replayed = replay_note(table)
    if replayed:
        note += "<p>" + re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(replayed)) + "</p>"
    return HTML("<table class='full-scale' style='font-size:0.9em'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}")

