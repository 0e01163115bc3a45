"""``vaekit report``: one self-contained HTML page judging a tabular run's synthetic rows.

The numbers come from :func:`vaekit.evaluation.synthetic_quality.quality_report` (synthetic rows of
the run against a held-out table the user gives, and against the run's training rows); this module
draws them (:mod:`vaekit.plots.report`), lays them out in HTML with every figure inline as a
base64 PNG (no script, no stylesheet or font fetched: the page opens offline), and writes the same
numbers as JSON beside it. Both files bear a generator mark, so that ``--force`` replaces only a
report vaekit wrote.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from vaekit._io import atomic_write_json, atomic_write_text
from vaekit._version import __version__
from vaekit.errors import VaekitError
from vaekit.runs.store import Run

#: The mark of a report vaekit wrote: a ``<meta name="generator">`` of the HTML, a key of the JSON.
GENERATOR = "vaekit report"
#: Rows of a table on the page; the others are in the JSON.
MAX_TABLE_ROWS = 25
#: Bytes of an existing HTML file read to find the generator mark.
_MARK_BYTES = 4096


def json_path(out: Path) -> Path:
    """Where the numbers of the report ``out`` go: beside it, with ``.json`` for its suffix."""
    return out.with_suffix(".json")


def written_by_vaekit(path: Path) -> bool:
    """Whether ``path`` is a report (HTML or JSON) that ``vaekit report`` wrote."""
    try:
        if path.suffix.lower() == ".json":
            return json.loads(path.read_text(encoding="utf-8")).get("generator") == GENERATOR
        with open(path, "rb") as stream:
            head = stream.read(_MARK_BYTES).decode("utf-8", errors="replace")
    except (OSError, ValueError, AttributeError):
        return False
    return f'<meta name="generator" content="{GENERATOR}' in head


def check_report_out(out: Path, *, force: bool) -> tuple[Path, Path]:
    """Refuse an ``--out`` that is not an HTML file, or whose HTML or JSON exists and may not be
    replaced: a file vaekit did not write (never), a report of vaekit's (only with ``force``)."""
    if out.suffix.lower() not in (".html", ".htm"):
        raise VaekitError(f"--out must name an .html file, got {out}")
    paths = (out, json_path(out))
    for path in paths:
        if path.is_dir():
            raise VaekitError(f"--out {out}: {path} is a folder; name the report file to write")
        if not path.exists():
            continue
        if not written_by_vaekit(path):
            raise VaekitError(
                f"--out {out}: {path} exists and was not written by vaekit report; it is never replaced, "
                "even with --force: move it away or choose another --out"
            )
        if not force:
            raise VaekitError(f"--out {out}: {path} exists (an earlier report); --force replaces it")
    return paths


# --- the tables ------------------------------------------------------------------------------------


def report_tables(
    run: Run, held_out: pd.DataFrame, *, held_out_name: str = "the held-out table"
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], dict[str, str]]:
    """The run's training rows and the held-out rows, read through the run's schema (numbers as
    numbers, levels as training read them); the columns that hold levels; each column's schema kind.

    Refuses a held-out table without rows, or whose columns are not the training table's (naming
    the columns that differ)."""
    from vaekit.data.tabular import decode_table, encode_table, kind_named
    from vaekit.runs.tabular import tabular_data
    from vaekit.schema import Schema

    schema = Schema.from_dict(run.config["model_config"]["schema"])
    if len(held_out) == 0:
        raise VaekitError(f"{held_out_name} has no rows")
    train, _ = tabular_data(run.config)
    lacking = [name for name in schema.names if name not in held_out.columns]
    extra = [str(name) for name in held_out.columns if name not in train.columns]
    if lacking or extra:
        said = []
        if lacking:
            said.append(f"it lacks {', '.join(lacking)}")
        if extra:
            said.append(f"it has {', '.join(extra)}, which training had not")
        raise VaekitError(
            f"{held_out_name} has other columns than the run's training table: {'; '.join(said)}"
        )

    def typed(table: pd.DataFrame) -> pd.DataFrame:
        encoded = encode_table(schema, table)
        return decode_table(schema, encoded.values, encoded.observed)

    categorical = [spec.name for spec in schema.columns if kind_named(spec.kind).has_levels]
    return typed(train), typed(held_out), categorical, {spec.name: spec.kind for spec in schema.columns}


def build_report(
    run: Run,
    held_out: pd.DataFrame,
    *,
    num_rows: int | None = None,
    seed: int = 0,
    target: str | None = None,
    held_out_name: str = "the held-out table",
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Draw synthetic rows from ``run`` (as many as the held-out rows by default) and judge them:
    the report's numbers (JSON-ready) and the tables they were computed from (``train``,
    ``held_out``, ``synthetic``).

    The synthetic rows keep the training table's missing cells (``sample_rows(keep_missing=True)``)
    when it has any, so that missing-value similarity compares like with like."""
    from vaekit.evaluation.synthetic_quality import quality_report
    from vaekit.runs.tabular import sample_rows

    step = progress or (lambda name: None)
    step("reading the tables")
    train, held, categorical, schema_kinds = report_tables(run, held_out, held_out_name=held_out_name)
    if target is not None and target not in schema_kinds:
        raise VaekitError(
            f"--target {target!r} is not a column of the model; its columns: {', '.join(schema_kinds)}"
        )
    num_rows = len(held) if num_rows is None else num_rows
    keep_missing = bool(train.isna().any().any())
    step("drawing synthetic rows")
    synthetic = sample_rows(run, num_rows, seed=seed, keep_missing=keep_missing)
    started = time.perf_counter()
    numbers = quality_report(
        train, held, synthetic, categorical=categorical, target=target, seed=seed, progress=step
    )
    report = {
        "generator": GENERATOR,
        "vaekit_version": __version__,
        "run": str(run.path),
        "held_out": held_out_name,
        "synthetic_rows": num_rows,
        "seed": seed,
        "keep_missing": keep_missing,
        "schema_kinds": schema_kinds,
        **numbers,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return report, {"train": train, "held_out": held, "synthetic": synthetic}


def write_report(
    run: Run,
    held_out: pd.DataFrame,
    out: Path,
    *,
    num_rows: int | None = None,
    seed: int = 0,
    target: str | None = None,
    held_out_name: str = "the held-out table",
    force: bool = False,
    progress: bool = True,
) -> tuple[Path, Path]:
    """Write the report of ``run`` against ``held_out`` to ``out`` (HTML) and its numbers beside it
    (JSON); returns both paths. ``out`` is checked first (:func:`check_report_out`)."""
    html_out, json_out = check_report_out(out, force=force)
    steps = ["reading the tables", "drawing synthetic rows", "column shapes", "pair trends"]
    steps += ["adherence and missing cells", "detection", "machine-learning efficacy", "privacy", "figures"]
    bar = _StepBar(len(steps), enabled=progress)
    try:
        report, tables = build_report(
            run,
            held_out,
            num_rows=num_rows,
            seed=seed,
            target=target,
            held_out_name=held_out_name,
            progress=bar,
        )
        bar("figures")
        page = render_html(report, tables["held_out"], tables["synthetic"])
    finally:
        bar.close()
    atomic_write_json(json_out, report)
    atomic_write_text(html_out, page)
    return html_out, json_out


class _StepBar:
    """A tqdm bar over the report's steps, named as they start; silent when disabled."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc="report", leave=False, bar_format="{desc}: {n}/{total} {bar}")
        self._started = False

    def __call__(self, name: str) -> None:
        if self._bar is None:
            return
        if self._started:
            self._bar.update(1)
        self._started = True
        self._bar.set_description(f"report: {name}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# --- the page --------------------------------------------------------------------------------------


def _png(figure: Any) -> str:
    """A figure as an ``<img>`` of an inline base64 PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{encoded}">'


def _e(value: Any) -> str:
    return html.escape(str(value))


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return _e(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, total: int | None = None) -> str:
    total = len(rows) if total is None else total
    shown = rows[:MAX_TABLE_ROWS]
    head = "".join(f"<th>{_e(header)}</th>" for header in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{cell if isinstance(cell, _Html) else _number(cell)}</td>" for cell in row)
        + "</tr>"
        for row in shown
    )
    more = (
        f'<p class="note">The worst {len(shown)} of {total:,}; all are in the JSON.</p>'
        if total > len(shown)
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


class _Html(str):
    """Text already escaped for the page."""


def _text(value: Any) -> _Html:
    return _Html(_e(value))


def _card(title: str, value: str, note: str, *, verdict: str = "") -> str:
    return (
        f'<div class="card {verdict}"><div class="label">{_e(title)}</div>'
        f'<div class="value">{value}</div><div class="note">{note}</div></div>'
    )


def _verdict(value: float | None, good: float, bad: float) -> str:
    """``good``/``fair``/``poor`` by two thresholds (in either direction)."""
    if value is None:
        return ""
    if (good < bad and value <= good) or (good > bad and value >= good):
        return "good"
    if (good < bad and value >= bad) or (good > bad and value <= bad):
        return "poor"
    return "fair"


def _with_baseline(value: float | None, baseline: float | None) -> str:
    if baseline is None:
        return _number(value)
    return f"{_number(value)} <small>vs</small> {_number(baseline)}"


def _excess_verdict(value: float | None, baseline: float | None) -> str:
    """A distance judged by how far it exceeds what sampling alone gives (``baseline``): ``good``
    within 0.05, ``poor`` 0.15 or more beyond."""
    if value is None:
        return ""
    return _verdict(value - (baseline or 0.0), 0.05, 0.15)


def _efficacy_verdict(synthetic: float | None, real: float | None) -> str:
    """``good`` when training on synthetic rows scores within 0.05 of training on real ones,
    ``poor`` when 0.15 or more below."""
    if synthetic is None or real is None:
        return ""
    return _verdict(real - synthetic, 0.05, 0.15)


def _summary(report: Mapping[str, Any]) -> str:
    summary = report["summary"]
    rows = summary["rows"]
    efficacy = report["ml_efficacy"]
    metric = "accuracy" if efficacy["metric"] == "accuracy" else "R²"
    auc = summary["detection_auc"]
    ratio = report["privacy"].get("median_ratio")
    cards = [
        _card(
            "Detection AUC",
            _number(auc),
            "how well a classifier tells synthetic from held-out rows; 0.5: indistinguishable, "
            "1: always told",
            verdict=_verdict(auc, 0.6, 0.8),
        ),
        _card(
            "Column shapes",
            _with_baseline(summary["column_shape_distance_mean"], summary.get("column_shape_baseline_mean")),
            f"mean KS / total variation per column, 0 best, beside training vs held-out rows (the "
            f"sampling noise); worst: {_e(summary['worst_column'])}",
            verdict=_excess_verdict(
                summary["column_shape_distance_mean"], summary.get("column_shape_baseline_mean")
            ),
        ),
        _card(
            "Pair trends",
            _with_baseline(summary["pair_trend_distance_mean"], summary.get("pair_trend_baseline_mean")),
            "mean distance per pair of columns (correlation, contingency), 0 best, beside training vs "
            "held-out rows",
            verdict=_excess_verdict(
                summary["pair_trend_distance_mean"], summary.get("pair_trend_baseline_mean")
            ),
        ),
        _card(
            "Adherence",
            f"{_number(summary['boundary_adherence'])} / {_number(summary['category_adherence'])}",
            "share of synthetic numbers inside the real min/max / of synthetic levels seen in real rows",
            verdict=_verdict(
                min(
                    v
                    for v in (summary["boundary_adherence"], summary["category_adherence"], 1.0)
                    if v is not None
                ),
                0.99,
                0.9,
            ),
        ),
        _card(
            f"ML efficacy ({metric})",
            f"{_number(summary['train_on_synthetic'])} <small>vs</small> {_number(summary['train_on_real'])}",
            f"predicting {_e(summary['efficacy_target'])} on held-out rows: trained on synthetic vs on "
            "real training rows",
            verdict=_efficacy_verdict(summary["train_on_synthetic"], summary["train_on_real"]),
        ),
        _card(
            "Distance to closest record",
            f"{_number(summary['dcr_synthetic_median'])} <small>vs</small> "
            f"{_number(summary['dcr_held_out_median'])}",
            "median distance to the closest training row: synthetic vs held-out rows; synthetic much closer: "
            "the model may copy its training rows"
            + (f" (ratio {_number(ratio, 2)})" if ratio is not None else ""),
            verdict=_verdict(ratio, 0.8, 0.5),
        ),
        _card(
            "Copies of training rows",
            f"{_number(summary['copy_share'])} <small>vs</small> {_number(summary['held_out_copy_share'])}",
            "share of synthetic rows equal to a training row, beside that of held-out rows",
            verdict="poor"
            if (summary["copy_share"] or 0) > (summary["held_out_copy_share"] or 0) + 0.05
            else "good",
        ),
        _card(
            "Missing cells",
            _number(summary["missing_share_difference_max"]),
            "largest difference of a column's share of missing cells, synthetic vs held-out",
            verdict=_verdict(summary["missing_share_difference_max"], 0.05, 0.2),
        ),
    ]
    counts = (
        f"{rows['synthetic']:,} synthetic rows, {rows['held_out']:,} held-out rows, "
        f"{rows['train']:,} training rows, {summary['columns']:,} columns"
    )
    return (
        f'<section class="summary"><h2>Summary</h2><p>{counts}</p>'
        f'<div class="cards">{"".join(cards)}</div></section>'
    )


_STYLE = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;color:#1d2430;
  background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:0 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:16px 20px;margin:18px 0}
.meta{color:#5a6473;font-size:13px;margin:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.card{border:1px solid #dde1e7;border-left:6px solid #aab2bf;border-radius:6px;padding:10px 12px}
.card.good{border-left-color:#2e9d57} .card.fair{border-left-color:#e0a800}
.card.poor{border-left-color:#d64541}
.card .label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#5a6473}
.card .value{font-size:24px;font-weight:600;margin:4px 0}
.card .value small{font-size:13px;color:#5a6473;font-weight:400}
.card .note{font-size:12px;color:#5a6473}
p.explain{font-size:14px;color:#3a4350;max-width:900px}
p.note{font-size:12px;color:#5a6473}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #e4e7ec;padding:4px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f0f2f5}
img{max-width:100%;height:auto;display:block;margin:8px 0}
.row{display:flex;gap:24px;align-items:flex-start}
.row>div{min-width:0} .row>div:last-child{flex:1}
"""


def render_html(report: Mapping[str, Any], held_out: pd.DataFrame, synthetic: pd.DataFrame) -> str:
    """The report as one HTML page: the summary, then a section per family of numbers, each with its
    table (the worst first) and figure."""
    from vaekit.plots import report as figures

    kinds = report["kinds"]
    schema_kinds = report.get("schema_kinds", kinds)
    sections = [_summary(report)]

    shapes = report["column_shapes"]
    sections.append(
        '<section id="shapes"><h2>Column shapes</h2><p class="explain">Per column, how far the synthetic '
        "values are from the held-out ones: the Kolmogorov-Smirnov statistic for numbers (the largest gap "
        "between the two cumulative distributions), the total-variation distance for categories (half the "
        "summed differences of the level shares); 0 is the same shape, 1 nothing in common. The baseline is "
        "the same distance between the training and the held-out rows: what sampling alone leaves.</p>"
        + '<div class="row"><div>'
        + _table(
            ("column", "kind", "distance", "baseline"),
            [
                (
                    _text(e["column"]),
                    _text(schema_kinds.get(e["column"], e["kind"])),
                    e["distance"],
                    e.get("baseline"),
                )
                for e in shapes
            ],
        )
        + "</div><div>"
        + _png(figures.shape_distances(shapes))
        + "</div></div>"
        + _png(figures.worst_marginals(held_out, synthetic, kinds, [e["column"] for e in shapes]))
        + "</section>"
    )

    trends = report["pair_trends"]
    pairs = trends["pairs"]
    left_out = trends["columns_left_out"]
    caveat = (
        f" Pairs are scored among the {len(trends['columns'])} worst-shaped columns "
        f"({left_out:,} more not paired)."
        if left_out
        else ""
    )
    pair_section = (
        '<section id="pairs"><h2>Pair trends</h2><p class="explain">Per pair of columns, how differently '
        "they vary together. Two numbers: half the absolute difference of their correlations, synthetic "
        "against held-out (the correlations are shown). A category with anything: the total-variation "
        "distance between the two tables' joint shares, numbers cut into 5 bins at the held-out quantiles. "
        f"0 is the same trend.{caveat}</p>"
        + '<div class="row"><div>'
        + _table(
            ("pair", "metric", "distance", "baseline", "real corr.", "synthetic corr.", "contingency"),
            [
                (
                    _text(" × ".join(map(str, p["columns"]))),
                    _text(p["metric"]),
                    p["distance"],
                    p.get("baseline"),
                    p.get("correlation_real"),
                    p.get("correlation_synthetic"),
                    p["contingency"],
                )
                for p in pairs
            ],
        )
    )
    pair_section += "</div><div>"
    if len(trends["columns"]) >= 2:
        pair_section += _png(figures.pair_heatmap(trends["columns"], trends["matrix"]))
    sections.append(pair_section + "</div></div></section>")

    adherence = report["adherence"]
    adherence_rows = [
        (_text(name), _text("inside min/max"), share) for name, share in adherence["numbers"].items()
    ]
    adherence_rows += [
        (_text(name), _text("levels seen"), share) for name, share in adherence["categories"].items()
    ]
    adherence_rows.sort(key=lambda row: row[2] if row[2] is not None else 1.0)
    sections.append(
        '<section id="adherence"><h2>Boundary and category adherence</h2><p class="explain">Boundary: the '
        "share of each number column's synthetic values that lie inside the training rows' minimum and "
        "maximum. Category: the share of synthetic cells whose level appears in the training rows. 1 is "
        "full adherence; the worst columns first.</p>"
        + _table(("column", "check", "share"), adherence_rows)
        + "</section>"
    )

    missing = report["missing"]
    missing_note = (
        "The synthetic rows were drawn with the training table's missing-cell patterns "
        "(sample --keep-missing)."
        if report.get("keep_missing")
        else "The training table has no missing cell, so the synthetic rows have none."
    )
    missing_section = (
        '<section id="missing"><h2>Missing-value similarity</h2><p class="explain">Each column\'s share of '
        f"missing cells in the held-out and synthetic rows, the largest difference first. {missing_note}</p>"
    )
    if missing["any_missing"]:
        with_missing = [e for e in missing["columns"] if e["real"] or e["synthetic"]]
        missing_section += (
            '<div class="row"><div>'
            + _table(
                ("column", "held-out", "synthetic", "difference"),
                [(_text(e["column"]), e["real"], e["synthetic"], e["difference"]) for e in with_missing],
            )
            + f'<p class="note">{len(missing["columns"]) - len(with_missing):,} columns have no missing cell '
            "in either table.</p></div><div>" + _png(figures.missing_shares(with_missing)) + "</div></div>"
        )
    else:
        missing_section += '<p class="note">Neither table has a missing cell.</p>'
    sections.append(missing_section + "</section>")

    detection = report["detection"]
    sections.append(
        '<section id="detection"><h2>Detection</h2><p class="explain">Synthetic and held-out rows are '
        f"pooled ({detection['rows']['synthetic']:,} and {detection['rows']['real']:,} rows) and two "
        "classifiers learn to tell them apart, scored by the ROC AUC of "
        f"{detection['folds']}-fold cross-validated predictions (numbers standardised, levels one-hot"
        + (
            f"; the {detection['columns']:,} worst-shaped columns"
            if detection.get("columns", len(report["kinds"])) < len(report["kinds"])
            else ""
        )
        + "). "
        "0.5: no classifier can tell a synthetic row from a real one; 1: every synthetic row is "
        "recognised. The headline is the better of the two.</p>"
        + _table(
            ("classifier", "ROC AUC"),
            [
                (_text("logistic regression"), detection.get("logistic_regression")),
                (_text("gradient-boosted trees"), detection.get("gradient_boosting")),
            ],
        )
        + "</section>"
    )

    efficacy = report["ml_efficacy"]
    metrics = ("accuracy", "macro_f1") if efficacy["metric"] == "accuracy" else ("r2",)
    metric_names = {"accuracy": "accuracy", "macro_f1": "macro F1", "r2": "R²"}
    notes = [
        efficacy.get("note"),
        efficacy.get("synthetic", {}).get("note"),
        efficacy.get("real", {}).get("note"),
    ]
    sections.append(
        '<section id="efficacy"><h2>Machine-learning efficacy</h2><p class="explain">A gradient-boosting '
        f"{efficacy['task'].replace('classification', 'classifier').replace('regression', 'regressor')} "
        f"predicts <b>{_e(efficacy['target'])}</b> from the other columns. Trained on the synthetic rows "
        "and, beside it, on the real training rows, both are tested on the held-out rows: synthetic rows "
        "as useful as real ones score the same.</p>"
        + _table(
            ("trained on", "rows", *(metric_names[m] for m in metrics)),
            [
                (
                    _text(label),
                    efficacy.get(name, {}).get("rows"),
                    *(efficacy.get(name, {}).get(m) for m in metrics),
                )
                for name, label in (("synthetic", "synthetic rows"), ("real", "real training rows"))
            ],
        )
        + "".join(f'<p class="note">{_e(note)}</p>' for note in notes if note)
        + "</section>"
    )

    privacy = report["privacy"]
    sections.append(
        '<section id="privacy"><h2>Privacy</h2><p class="explain">Each row\'s distance to its closest '
        "training row (DCR), on numbers standardised by the training rows and one-hot levels. Held-out rows "
        "were never seen by the model: synthetic rows that are much closer to the training rows than they "
        "are, or that copy training rows (all cells equal, numbers as 32-bit floats), point to "
        "memorised rows.</p>"
        + '<div class="row"><div>'
        + _table(
            ("rows", "median DCR", "5th percentile", "copies of a training row"),
            [
                (
                    _text(label),
                    privacy[name]["median"],
                    privacy[name]["percentile_5"],
                    privacy[name]["copy_share"],
                )
                for name, label in (("synthetic", "synthetic"), ("held_out", "held-out"))
            ],
        )
        + "</div><div>"
        + _png(figures.distance_to_closest_record(privacy["histogram"]))
        + "</div></div></section>"
    )
    meta = (
        f"run {_e(report['run'])} · held-out {_e(report['held_out'])} · "
        f"{report['synthetic_rows']:,} synthetic rows (seed {report['seed']}) · "
        f"vaekit {_e(report['vaekit_version'])}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="{GENERATOR} {_e(report["vaekit_version"])}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>vaekit report: {_e(Path(report['run']).name)}</title><style>{_STYLE}</style></head>"
        f'<body><main><h1>Synthetic data report</h1><p class="meta">{meta}</p>'
        f"{''.join(sections)}</main></body></html>\n"
    )
