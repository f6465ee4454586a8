"""One pure module per criterion of docs/criteria.md, found through `registry.CRITERIA` by id.

Each module defines `ID`, `INFO`, `PROMETHEUS_ONLY`, `QUERIES`, `DEFAULTS` and
`evaluate(spec, evidence) -> list[Result]`. No module fetches anything.
"""

__all__ = ["registry"]
