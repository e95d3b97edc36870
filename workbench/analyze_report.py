"""`analyze_queries`' output: the ranked tables, the CREATE INDEX statements, JSON and the closing summary."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from workbench.analyze import RECOMMEND_CUT, Analysis, Statement, Verdict
from workbench.bench.stats import fmt, format_table

_SELECT_LIST = re.compile(r"^SELECT (?P<columns>.{40,}?) FROM ", re.DOTALL)


def abridge(sql: str, width: int = 160) -> str:
    """A statement short enough to read in a terminal: the select list and the tail elided."""
    text = _SELECT_LIST.sub("SELECT … FROM ", sql, count=1)
    return text if len(text) <= width else text[: width - 1] + "…"


def _operations(statement: Statement) -> str:
    first = statement.operations[0] if statement.operations else ""
    more = len(statement.operations) - 1
    return f"{first} (+{more})" if more > 0 else first


def _buffers(statement: Statement) -> str:
    if not statement.buffers:
        return "–"
    return f"{statement.buffers.get('shared_hit', 0):,}/{statement.buffers.get('shared_read', 0):,}"


def _queries_of(verdict: Verdict) -> str:
    return ",".join(f"Q{q + 1}" for q in verdict.queries[:6]) + ("…" if len(verdict.queries) > 6 else "")


def _trial_costs(verdict: Verdict) -> tuple[str, str]:
    if not verdict.trials:
        return "–", "–"
    best = max(verdict.trials, key=lambda t: t.cut)
    return f"{best.cut:.0%}", f"{best.before:,.0f} → {best.after:,.0f}"


def render(analysis: Analysis, limit: int = 25) -> str:
    facts = analysis.facts
    statements = analysis.statements
    captured = sum(op.statements for op in analysis.operations)
    heading = (
        f"Hot queries of firm {facts.get('tenant')} as manager {facts.get('manager')} (book of"
        f" {facts.get('book_size')}), source: {analysis.source}"
    )
    if analysis.source == "requests":
        heading += f", {len(analysis.operations)} operations, {captured} statements"
    heading += (
        f", {len(statements)} distinct; PostgreSQL {facts.get('server_version', 0) // 10000}."
        " Ranked by time (ms: EXPLAIN ANALYZE × calls"
        + (", or pg_stat_statements' total" if analysis.source == "statements" else "")
        + ")."
    )
    lines = [heading, ""]
    rows = [
        [
            f"Q{n}",
            fmt(s.weight_ms, 2),
            fmt(s.calls),
            fmt(s.cost, 0),
            fmt(s.rows, 0) if isinstance(s.rows, float) else fmt(s.rows),
            fmt(len(s.findings.seq_scans)),
            fmt(len(s.findings.sorts)),
            fmt(len(s.findings.misestimates)),
            _buffers(s),
            s.explained or "skipped",
            _operations(s),
        ]
        for n, s in enumerate(statements[:limit], 1)
    ]
    lines.append(
        format_table(
            [
                "#",
                "ms",
                "calls",
                "cost",
                "rows",
                "seq scans",
                "sorts",
                "misest.",
                "buf hit/read",
                "plan",
                "operations",
            ],
            rows,
            left=1,
        )
    )
    if len(statements) > limit:
        lines.append(f"… and {len(statements) - limit} more (--limit).")
    flagged = [(n, s) for n, s in enumerate(statements, 1) if s.flagged]
    if flagged:
        lines += ["", "Findings:"]
        for n, statement in flagged:
            time_ms = "–" if statement.execution_ms is None else f"{statement.execution_ms:,.2f} ms"
            lines.append(f"Q{n}  {time_ms}  {', '.join(statement.operations[:4])}")
            lines.append(f"    {abridge(statement.key)}")
            found = statement.findings
            for scan in found.seq_scans:
                lines.append(f"    - {scan.describe()}")
                if scan.filter:
                    lines.append(f"        filter: {abridge(scan.filter, 140)}")
            lines += [f"    - {sort.describe()}" for sort in found.sorts]
            lines += [f"    - {miss.describe()}" for miss in found.misestimates]
            if statement.note:
                lines.append(f"    note: {statement.note}")
    lines += ["", *_render_indexes(analysis)]
    if analysis.notes:
        lines += ["", *(f"Note: {note}" for note in analysis.notes)]
    failed = [op for op in analysis.operations if op.status != op.expect]
    if failed:
        lines += ["", "Operations that did not answer as expected (their SQL is analysed anyway):"]
        lines += [f"  {op.name}: {op.status} (expected {op.expect})" for op in failed]
    return "\n".join(lines)


def _render_indexes(analysis: Analysis) -> list[str]:
    verdicts = analysis.verdicts
    if not verdicts:
        return [
            "No index candidates: no plan scans a large table sequentially or sorts one without an index."
        ]
    covered = [v for v in verdicts if v.status == "covered"]
    if analysis.hypopg:
        open_ones = [v for v in verdicts if v.status == "unverified"]
        lines = [
            f"Candidate indexes, UNVERIFIED ({analysis.hypopg}), ranked by the time of the queries that"
            " suggest them:",
            "",
        ]
        if open_ones:
            lines.append(
                format_table(
                    ["#", "index", "why", "queries", "their ms"],
                    [
                        [
                            str(n),
                            v.candidate.definition(),
                            v.candidate.reason,
                            _queries_of(v),
                            fmt(v.saving_ms, 2),
                        ]
                        for n, v in enumerate(open_ones, 1)
                    ],
                    left=3,
                )
            )
            lines += ["", "To try (unverified):", *(f"  {v.candidate.create_sql()}" for v in open_ones)]
        else:
            lines.append("(none beyond existing indexes)")
    else:
        recommended = analysis.recommended
        rejected = [v for v in verdicts if v.status == "rejected"]
        lines = [
            f"Recommended indexes (HypoPG: each cuts a query's estimated cost by {RECOMMEND_CUT:.0%} or more),"
            " ranked by the time they save:",
            "",
        ]
        if recommended:
            table_rows = []
            for n, v in enumerate(recommended, 1):
                cut, costs = _trial_costs(v)
                table_rows.append(
                    [str(n), v.candidate.definition(), cut, costs, _queries_of(v), fmt(v.saving_ms, 2)]
                )
            lines.append(
                format_table(["#", "index", "cut", "cost", "queries", "saves ms"], table_rows, left=2)
            )
            lines += ["", "Run:", *(f"  {v.candidate.create_sql()}" for v in recommended)]
        else:
            lines.append("(none: no candidate halves any query's cost)")
        if rejected:
            best = ", ".join(f"{v.candidate.definition()} {_trial_costs(v)[0]}" for v in rejected[:3])
            lines += [
                "",
                f"Tried and not recommended: {len(rejected)} (best cuts: {best}{'…' if len(rejected) > 3 else ''}).",
            ]
    if covered:
        lines.append(
            f"Already served by existing indexes: {len(covered)} candidate(s)"
            f" (e.g. {covered[0].candidate.definition()} by {covered[0].covered_by})."
        )
    return lines


def summary(analysis: Analysis) -> str:
    statements = analysis.statements
    explained = [s for s in statements if s.explained]
    seq = sum(1 for s in statements if s.findings.seq_scans)
    sorts = sum(1 for s in statements if s.findings.sorts)
    missed = sum(1 for s in statements if s.findings.misestimates)
    parts = []
    if analysis.source == "requests":
        requests = sum(op.requests for op in analysis.operations)
        captured = sum(op.statements for op in analysis.operations)
        parts.append(
            f"Ran {requests} requests of {len(analysis.operations)} operations: {captured} statements,"
        )
    else:
        parts.append("Read pg_stat_statements:")
    parts.append(
        f"{len(statements)} distinct, {len(explained)} explained. {seq} with a sequential scan of a large table,"
        f" {sorts} with a sort no index serves, {missed} with row estimates off ×10 or more."
    )
    if analysis.hypopg:
        unverified = sum(1 for v in analysis.verdicts if v.status == "unverified")
        parts.append(f"{unverified} unverified index candidate(s): {analysis.hypopg}.")
    else:
        tried = sum(1 for v in analysis.verdicts if v.trials)
        recommended = analysis.recommended
        saved = sum(v.saving_ms for v in recommended)
        parts.append(
            f"HypoPG tried {tried} candidate(s): {len(recommended)} recommended"
            + (f" (≈{saved:,.1f} ms saved per round of these queries)." if recommended else ".")
        )
    parts.append(f"Done in {analysis.seconds:.1f} s.")
    return " ".join(parts)


def as_json(analysis: Analysis) -> dict[str, Any]:
    return {
        "source": analysis.source,
        "facts": analysis.facts,
        "operations": [asdict(op) for op in analysis.operations],
        "queries": [
            {
                "rank": n,
                "query": s.key,
                "operations": s.operations,
                "calls": s.calls,
                "weight_ms": round(s.weight_ms, 3),
                "execution_ms": s.execution_ms,
                "planning_ms": s.planning_ms,
                "seen_ms": round(s.seen_ms, 3),
                "plan": s.explained or None,
                "cost": s.cost,
                "rows": s.rows,
                "buffers": s.buffers,
                "seq_scans": [asdict(x) for x in s.findings.seq_scans],
                "sorts": [asdict(x) for x in s.findings.sorts],
                "misestimates": [asdict(x) | {"factor": round(x.factor, 1)} for x in s.findings.misestimates],
                "indexes_used": s.findings.indexes,
                "candidates": [c.definition() for c in s.findings.candidates],
                "note": s.note,
            }
            for n, s in enumerate(analysis.statements, 1)
        ],
        "hypopg": analysis.hypopg or "used",
        "indexes": [
            {
                "status": v.status,
                "table": v.candidate.table,
                "columns": list(v.candidate.columns),
                "where": v.candidate.where,
                "reason": v.candidate.reason,
                "create": v.candidate.create_sql(),
                "queries": [q + 1 for q in v.queries],
                "best_cut": round(v.best_cut, 3) if v.trials else None,
                "trials": [asdict(t) | {"query": t.query + 1, "cut": round(t.cut, 3)} for t in v.trials],
                "saving_ms": round(v.saving_ms, 3),
                "covered_by": v.covered_by or None,
            }
            for v in analysis.verdicts
        ],
        "notes": analysis.notes,
        "summary": summary(analysis),
        "seconds": round(analysis.seconds, 1),
    }
