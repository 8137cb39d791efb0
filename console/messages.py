"""Small past-tense facts that workers post back to the screen that asked: what a query found."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from queries.audit import Action
from queries.dlq import DeadLetter, DeadLetterPage, FailureGroup
from queries.journey import Journey
from queries.kpis import Kpi, Overview
from queries.lag import LagReport
from queries.rejects import RejectPage
from queries.search import SearchPage
from queries.sla import RuleSummary, SlaEvaluation


@dataclass
class Loaded(Message, bubble=False):
    """A query behind a screen finished (every result below is one); only the screen that asked hears it."""

    query_id: int = field(default=0, kw_only=True)
    seconds: float = field(default=0.0, kw_only=True)  # how long the query held the store


@dataclass
class QueryFailed(Loaded):
    """The query could not run: the store is busy, missing, or refused it; `reason` is one line."""

    reason: str = ""


@dataclass
class OverviewLoaded(Loaded):
    overview: Overview | None = None


@dataclass
class OrdersFound(Loaded):
    page: SearchPage | None = None


@dataclass
class JourneyLoaded(Loaded):
    key: str = ""
    journey: Journey | None = None  # None: nothing matches the key


@dataclass
class SlaReported(Loaded):
    rules: list[RuleSummary] = field(default_factory=list)
    breaches: list[SlaEvaluation] = field(default_factory=list)


@dataclass
class LagReported(Loaded):
    report: LagReport | None = None
    worst_skus: LagReport | None = None
    lag_series: Kpi | None = None
    sync_series: Kpi | None = None


@dataclass
class GroupsLoaded(Loaded):
    groups: list[FailureGroup] = field(default_factory=list)
    messages: int = 0


@dataclass
class DeadLettersLoaded(Loaded):
    page: DeadLetterPage | None = None


@dataclass
class DeadLetterLoaded(Loaded):
    key: str = ""
    message: DeadLetter | None = None  # None: no dead letter has that id or message id


@dataclass
class AuditLoaded(Loaded):
    actions: list[Action] = field(default_factory=list)
    offset: int = 0
    page_size: int = 0


@dataclass
class RejectsLoaded(Loaded):
    page: RejectPage | None = None
