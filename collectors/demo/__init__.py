"""The demo estate: a retailer's middleware as real OTLP, CloudEvents and RabbitMQ DLQ files."""

from __future__ import annotations

from collectors.demo.estate import EstateSummary, generate

__all__ = ["EstateSummary", "generate"]
