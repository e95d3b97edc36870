"""Reading PostgreSQL's JSON plans: sequential scans, unindexed sorts, estimate errors, and index candidates.

Pure functions over `EXPLAIN (FORMAT JSON)` output, so they are tested without a database. Candidates are
derived the way our RLS policies filter: `tenant_id` leading, then the scope key, equality columns, then
range or sort columns, partial on `deleted_at IS NULL` when the query asks for live rows only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ESTIMATE_FACTOR = 10.0  # actual/estimated rows beyond this (either way) is reported
ESTIMATE_FLOOR = 100  # ...when one side reaches this many rows: 1 vs 50 rows changes no plan
MIN_SORT_ROWS = 1_000  # sorts of fewer input rows are cheap whatever serves them (unless they spill)
# Nodes that pass their input's row count through: an estimate error there was made below them.
PASS_THROUGH = {
    "Limit",
    "Result",
    "Sort",
    "Incremental Sort",
    "Unique",
    "Materialize",
    "Memoize",
    "Gather",
    "Gather Merge",
    "Hash",
    "CTE Scan",
    "Subquery Scan",
    "WindowAgg",
    "LockRows",
    "ProjectSet",
    "Append",
    "Merge Append",
    "BitmapAnd",  # bitmap nodes report no actual rows at all
    "BitmapOr",
}
MAX_INDEX_COLUMNS = 5
SCOPE_COLUMNS = ("principal_id", "scope_principal_id")  # the policies' scope keys (crm/rls.py)
SCAN_TYPES = {"Seq Scan", "Parallel Seq Scan"}
SORT_TYPES = {"Sort", "Incremental Sort"}

# Normalising a statement so that the same query with other values is one query.
_STRING = re.compile(r"'(?:[^']|'')*'")
_PLACEHOLDER = re.compile(r"%s|%\(\w+\)s|\$\d+")
_NUMBER = re.compile(r"(?<![\w$\"])-?\d+(?:\.\d+)?\b")
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_SPACE = re.compile(r"\s+")


def normalize(sql: str) -> str:
    """The statement with every value (literal, placeholder, IN-list) replaced by `?`: the dedupe key."""
    text = _STRING.sub("?", sql)
    text = _PLACEHOLDER.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _LIST.sub("(?…)", text)
    return _SPACE.sub(" ", text).strip()


def nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every node of a plan tree, depth first, the root first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


@dataclass(frozen=True)
class SeqScan:
    table: str
    alias: str
    table_rows: int  # the table's size (pg_class / statistics)
    rows: float | None  # rows the node returned (all loops); None without ANALYZE
    removed: float | None  # rows its filter discarded (all loops)
    filter: str

    def describe(self) -> str:
        seen = "" if self.rows is None else f", returned {self.rows:,.0f}"
        gone = "" if not self.removed else f", filter removed {self.removed:,.0f}"
        return f"Seq Scan on {self.table} ({self.table_rows:,} rows{seen}{gone})"


@dataclass(frozen=True)
class UnindexedSort:
    keys: tuple[str, ...]
    method: str
    rows: float | None
    space_kb: int | None
    space_type: str

    def describe(self) -> str:
        how = f" ({self.method}" if self.method else " ("
        space = f", {self.space_kb:,} kB {self.space_type.lower()}" if self.space_kb is not None else ""
        rows = f"{self.rows:,.0f} rows in" if self.rows is not None else "estimated"
        keys = ", ".join(self.keys[:4]) + (f", … (+{len(self.keys) - 4})" if len(self.keys) > 4 else "")
        return f"Sort by {keys}{how}{', ' if self.method else ''}{rows}{space})"


@dataclass(frozen=True)
class Misestimate:
    node: str
    estimated: float
    actual: float

    @property
    def factor(self) -> float:
        low, high = sorted((max(self.estimated, 1.0), max(self.actual, 1.0)))
        return high / low

    def describe(self) -> str:
        way = "over" if self.estimated > self.actual else "under"
        return (
            f"{self.node}: estimated {self.estimated:,.0f} rows, actual {self.actual:,.0f}"
            f" ({way}estimated ×{self.factor:,.0f})"
        )


@dataclass(frozen=True)
class Candidate:
    """An index that might serve a plan node; `key` identifies it across queries."""

    table: str
    columns: tuple[str, ...]  # column names, "col DESC" for descending sort keys
    where: str  # a partial index's predicate, or ""
    reason: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, tuple[str, ...], str]:
        return (self.table, self.columns, self.where)

    @property
    def name(self) -> str:
        bare = [c.split()[0].removesuffix("_id") for c in self.columns]
        name = "_".join([self.table, *bare, "live" if self.where else "", "idx"]).replace("__", "_")
        return name[:63]

    def definition(self) -> str:
        where = f" WHERE {self.where}" if self.where else ""
        return f"{self.table} ({', '.join(self.columns)}){where}"

    def create_sql(self, concurrently: bool = True) -> str:
        how = "CONCURRENTLY IF NOT EXISTS " if concurrently else ""
        return f"CREATE INDEX {how}{self.name} ON {self.definition()};"


@dataclass
class PlanFindings:
    seq_scans: list[SeqScan] = field(default_factory=list)
    sorts: list[UnindexedSort] = field(default_factory=list)
    misestimates: list[Misestimate] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)  # the indexes the plan reads


def _label(node: Mapping[str, Any]) -> str:
    on = node.get("Relation Name") or node.get("Index Name") or ""
    return f"{node.get('Node Type', '?')}{f' on {on}' if on else ''}"


def _all_loops(node: Mapping[str, Any], key: str) -> float | None:
    value = node.get(key)
    if value is None:
        return None
    return float(value) * max(float(node.get("Actual Loops", 1) or 1), 1.0)


def _misestimate(node: Mapping[str, Any]) -> Misestimate | None:
    if not node.get("Actual Loops") or node.get("Plan Rows") is None or node.get("Actual Rows") is None:
        return None
    estimate = Misestimate(_label(node), float(node["Plan Rows"]), float(node["Actual Rows"]))
    if max(estimate.estimated, estimate.actual) >= ESTIMATE_FLOOR and estimate.factor > ESTIMATE_FACTOR:
        return estimate
    return None


BLOCKING = {"Sort", "Incremental Sort", "Aggregate", "Hash", "Materialize", "SetOp", "WindowAgg"}


def _stopped_early(plan: Mapping[str, Any]) -> set[int]:
    """ids of the nodes a LIMIT above them may stop before they finish (no blocking node between)."""
    found: set[int] = set()

    def walk(node: Mapping[str, Any], limited: bool) -> None:
        if limited:
            found.add(id(node))
        kind = node.get("Node Type", "")
        below = (limited or kind == "Limit") and kind not in BLOCKING
        for child in node.get("Plans", ()):
            walk(child, below)

    walk(plan, False)
    return found


# -- filters ------------------------------------------------------------------------------------------


def _strip_parens(text: str) -> str:
    """`((a = 1))` → `a = 1`, only while the outer parentheses enclose the whole text."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for i, char in enumerate(text):
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and i < len(text) - 1:
                return text
        text = text[1:-1].strip()
    return text


def split_top_level(text: str, word: str = "AND") -> list[str]:
    """Split a deparsed boolean expression on `word` where it is not inside parentheses or quotes."""
    text = _strip_parens(text)
    parts, depth, start, quoted, i = [], 0, 0, False, 0
    token = f" {word} "
    while i < len(text):
        char = text[i]
        if char == "'":
            quoted = not quoted
        elif not quoted:
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            elif depth == 0 and text.startswith(token, i):
                parts.append(text[start:i])
                start = i + len(token)
                i = start
                continue
        i += 1
    parts.append(text[start:])
    return [_strip_parens(p) for p in parts if p.strip()]


_COLUMN = r"(?:\"?(?P<alias>\w+)\"?\.)?\"?(?P<column>[a-z_][a-z0-9_]*)\"?(?:\)?::[\w ]+)?"
_COMPARISON = re.compile(
    rf"^\(?{_COLUMN}\s*(?P<op>= ANY|<>|<=|>=|=|<|>|~~\*?|IS NOT NULL|IS NULL)(?P<rest>.*)$", re.IGNORECASE
)


@dataclass
class FilterColumns:
    equal: list[str] = field(default_factory=list)
    ranged: list[str] = field(default_factory=list)
    scope: str | None = None
    live_only: bool = False  # deleted_at IS NULL


def filter_columns(expression: str, alias: str | None = None) -> FilterColumns:
    """Which columns of the scanned table a filter compares, by kind (see the module's docstring)."""
    found = FilterColumns()
    if not expression:
        return found
    for conjunct in split_top_level(expression):
        alternatives = split_top_level(conjunct, "OR")
        if len(alternatives) > 1:  # the policy's `admin OR principal_id = ANY(book) OR shared` part
            for alternative in alternatives:
                match = _COMPARISON.match(alternative)
                if match and match["column"] in SCOPE_COLUMNS and found.scope is None:
                    found.scope = match["column"]
            continue
        match = _COMPARISON.match(conjunct)
        if not match or (alias and match["alias"] and match["alias"] != alias):
            continue
        column, op = match["column"], match["op"].upper()
        if column == "deleted_at" and op == "IS NULL":
            found.live_only = True
        elif op in ("=", "= ANY", "IS NULL"):
            if column not in found.equal:
                found.equal.append(column)
        elif op in ("<", ">", "<=", ">=") and column not in found.ranged:
            found.ranged.append(column)
    return found


_SORT_KEY = re.compile(r"^(?:\"?(?P<alias>\w+)\"?\.)?\"?(?P<column>[a-z_][a-z0-9_]*)\"?(?P<desc> DESC)?$")


def sort_columns(keys: Sequence[str]) -> tuple[str | None, list[str]]:
    """(alias, ["col", "col DESC"]) for plain column sort keys of one relation; ([], …) otherwise."""
    alias: str | None = None
    columns: list[str] = []
    for key in keys:
        key = key.replace(" NULLS FIRST", "").replace(" NULLS LAST", "").strip()
        match = _SORT_KEY.match(key)
        if not match:
            break  # an expression: an index on the columns before it may still serve
        if match["alias"]:
            if alias not in (None, match["alias"]):
                break
            alias = match["alias"]
        columns.append(match["column"] + (" DESC" if match["desc"] else ""))
    return alias, columns


# -- candidates -----------------------------------------------------------------------------------------


def build_candidates(
    table: str,
    where: FilterColumns,
    table_columns: set[str],
    *,
    order: Sequence[str] = (),
    reason: str,
) -> list[Candidate]:
    """Index shapes for one scan: tenant first, with and without the scope key, then equality, range/order."""
    if not table_columns:
        return []

    def usable(column: str) -> bool:
        return column.split()[0] in table_columns

    if "id" in where.equal:
        return []  # rows looked up by primary key: its own index serves them
    leading = ["tenant_id"] if "tenant_id" in table_columns else []
    equal = [c for c in where.equal if c not in ("tenant_id", "deleted_at") and usable(c)]
    tail = [c for c in order if usable(c)] or [c for c in where.ranged if usable(c)][:1]
    shapes = [leading + equal + tail]
    if where.scope and where.scope in table_columns and where.scope not in equal:
        shapes.append([*leading, where.scope, *equal, *tail])
    if leading and not equal and not tail:
        shapes = []  # tenant alone: the firm's whole table, no better than a scan
    predicate = "deleted_at IS NULL" if where.live_only and "deleted_at" in table_columns else ""
    seen: set[tuple[str, ...]] = set()
    out = []
    for shape in shapes:
        columns: list[str] = []
        for column in shape:
            if column.split()[0] not in (c.split()[0] for c in columns):
                columns.append(column)
        key = tuple(columns[:MAX_INDEX_COLUMNS])
        if key and key not in seen:
            seen.add(key)
            out.append(Candidate(table, key, predicate, reason))
    return out


def _scans_below(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [n for n in nodes(node) if n.get("Relation Name")]


def analyze_plan(
    plan: Mapping[str, Any],
    *,
    table_rows: Mapping[str, int],
    table_columns: Mapping[str, set[str]],
    min_rows: int,
) -> PlanFindings:
    """Findings and index candidates for one plan (the "Plan" object of EXPLAIN's JSON)."""
    found = PlanFindings()
    early_stop = _stopped_early(plan)
    for node in nodes(plan):
        kind = node.get("Node Type", "")
        if node.get("Index Name") and node["Index Name"] not in found.indexes:
            found.indexes.append(node["Index Name"])
        if kind in SCAN_TYPES:
            table = node.get("Relation Name", "")
            size = table_rows.get(table, 0)
            if size >= min_rows:
                condition = node.get("Filter", "")
                found.seq_scans.append(
                    SeqScan(
                        table=table,
                        alias=node.get("Alias", table),
                        table_rows=size,
                        rows=_all_loops(node, "Actual Rows"),
                        removed=_all_loops(node, "Rows Removed by Filter"),
                        filter=condition,
                    )
                )
                where = filter_columns(condition, node.get("Alias"))
                found.candidates += build_candidates(
                    table, where, table_columns.get(table, set()), reason=f"seq scan on {table}"
                )
        elif kind in SORT_TYPES:
            keys = tuple(node.get("Sort Key", ()))
            child = (node.get("Plans") or [{}])[0]
            sorted_rows = _all_loops(child, "Actual Rows")
            if sorted_rows is None:
                sorted_rows = float(child.get("Plan Rows", node.get("Plan Rows", 0)))
            spilled = node.get("Sort Space Type") == "Disk"
            if sorted_rows < MIN_SORT_ROWS and not spilled:
                continue
            found.sorts.append(
                UnindexedSort(
                    keys=keys,
                    method=node.get("Sort Method", ""),
                    rows=sorted_rows,
                    space_kb=node.get("Sort Space Used"),
                    space_type=node.get("Sort Space Type", ""),
                )
            )
            alias, order = sort_columns(keys)
            scans = _scans_below(node)
            target = next(
                (s for s in scans if alias is None or s.get("Alias") == alias),
                None,
            )
            if order and target is not None and (alias is not None or len(scans) == 1):
                table = target["Relation Name"]
                if table_rows.get(table, 0) >= min_rows:
                    where = filter_columns(
                        " AND ".join(f"({target[k]})" for k in ("Index Cond", "Filter") if target.get(k)),
                        target.get("Alias"),
                    )
                    found.candidates += build_candidates(
                        table,
                        where,
                        table_columns.get(table, set()),
                        order=order,
                        reason=f"sort by {', '.join(order)}",
                    )
        elif kind in ("Hash Join", "Merge Join"):
            condition = node.get("Hash Cond") or node.get("Merge Cond") or ""
            for scan in _scans_below(node):
                if scan.get("Node Type") not in SCAN_TYPES:
                    continue
                table = scan["Relation Name"]
                if table_rows.get(table, 0) < min_rows:
                    continue
                alias = scan.get("Alias", table)
                for side in split_top_level(condition):
                    for column_ref in re.findall(rf"\b{re.escape(alias)}\.(\w+)", side):
                        where = filter_columns(scan.get("Filter", ""), alias)
                        where.equal.insert(0, column_ref)
                        found.candidates += build_candidates(
                            table,
                            where,
                            table_columns.get(table, set()),
                            reason=f"join on {table}.{column_ref}",
                        )
        estimate = _misestimate(node)
        if estimate is not None and estimate.estimated > estimate.actual and id(node) in early_stop:
            estimate = None  # a LIMIT stopped it: its estimate is for a full run
        if estimate is not None and kind not in PASS_THROUGH:
            # Reported where the error is made: a join whose inputs are already off inherits theirs.
            inherited = any(_misestimate(child) is not None for child in node.get("Plans", ()))
            if not inherited or "Relation Name" in node:
                found.misestimates.append(estimate)
    unique: dict[tuple[str, tuple[str, ...], str], Candidate] = {}
    for candidate in found.candidates:
        unique.setdefault(candidate.key, candidate)
    found.candidates = list(unique.values())
    return found


_INDEX_COLUMNS = re.compile(r"USING btree \((?P<columns>.*?)\)(?: WHERE \((?P<where>.*)\))?$")


def covered_by(candidate: Candidate, index_definitions: Sequence[str]) -> str | None:
    """The existing btree index whose leading columns already are the candidate's (same predicate)."""
    wanted = [c.lower() for c in candidate.columns]
    for definition in index_definitions:
        match = _INDEX_COLUMNS.search(definition)
        if not match:
            continue
        columns = [c.strip().strip('"').lower() for c in match["columns"].split(",")]
        predicate = _strip_parens(match["where"] or "")
        if columns[: len(wanted)] == wanted and predicate in ("", candidate.where):
            return definition
    return None
