"""backroom's headless core: the DuckDB store, the schema, the SQL and the policy. Never imports Textual."""

from queries.errors import BackroomError, StoreBusy, StoreIncompatible, StoreMissing
from queries.store import Store

__all__ = ["BackroomError", "Store", "StoreBusy", "StoreIncompatible", "StoreMissing"]
