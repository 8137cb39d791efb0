"""OTLP/HTTP receiver throughput: the real SDK exporter in several processes against `backroom collect`.

Run with `make bench` (or `.venv/bin/pytest tests/bench/bench_otlp_http.py -m bench -s`).
Prints spans/s sustained into the store, spans dropped (must be 0), and the ratio to a
baseline measured in the same run: the same exports against a stdlib server that discards them.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.bench
PROCESSES, BATCHES, BATCH = 4, 25, 512  # 51,200 spans per run


def _spans(worker: int, count: int) -> list:
    """Finished SDK spans with retail attributes, made before the clock starts."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    kept: list = []

    class Keep(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            kept.extend(spans)
            return SpanExportResult.SUCCESS

    provider = TracerProvider(resource=Resource.create({"service.name": f"store-{worker}"}))
    provider.add_span_processor(SimpleSpanProcessor(Keep()))
    tracer = provider.get_tracer("bench")
    for number in range(count):
        with tracer.start_as_current_span("pos.sale", attributes={
                "retail.order_id": f"o-{worker}-{number}", "retail.store_id": "0042",
                "retail.sku": "SKU-1", "messaging.message.id": f"m-{number}"}):
            pass
    return kept


def _export(endpoint: str, worker: int, ready, go, results) -> None:  # type: ignore[no-untyped-def]
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    spans = _spans(worker, BATCHES * BATCH)
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=60)
    ready.release()
    go.wait()
    failed = 0
    for start in range(0, len(spans), BATCH):
        if exporter.export(spans[start:start + BATCH]) is not SpanExportResult.SUCCESS:
            failed += BATCH
    results.put(failed)


def _run_exporters(endpoint: str) -> tuple[float, int, float]:
    """Seconds for every process to export its spans, failed exports, and when they started."""
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    workers = [context.Process(target=_export, args=(endpoint, n, ready, go, results))
               for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    failed = sum(results.get() for _ in workers)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return elapsed, failed, started


class _Discard(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_otlp_http_receiver_throughput(tmp_path: Path) -> None:
    total = PROCESSES * BATCHES * BATCH
    baseline_server = ThreadingHTTPServer(("127.0.0.1", 0), _Discard)
    threading.Thread(target=baseline_server.serve_forever, daemon=True).start()
    port = baseline_server.server_address[1]
    baseline_s, _, _ = _run_exporters(f"http://127.0.0.1:{port}/v1/traces")
    baseline_server.shutdown()

    db = tmp_path / "bench.duckdb"
    env = {**os.environ, "BACKROOM_HOME": str(tmp_path / "home")}
    collect = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "collect", "--otlp-http", "127.0.0.1:0", "--db",
         str(db), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        cwd=Path(__file__).resolve().parents[2])
    assert collect.stderr is not None
    port = int(collect.stderr.readline().decode().rsplit(":", 1)[1].split("/")[0])
    export_s, failed, started = _run_exporters(f"http://127.0.0.1:{port}/v1/traces")
    collect.send_signal(signal.SIGTERM)
    out, err = collect.communicate(timeout=120)
    stored_s = time.perf_counter() - started  # until the last span was committed
    assert collect.returncode == 0, err
    stored = orjson.loads(out)["rows"]["spans"]
    print(f"\nOTLP/HTTP receiver, {PROCESSES} SDK exporter processes, {total:,} spans")
    print(f"  baseline (discarding stdlib server): {total / baseline_s:,.0f} spans/s")
    print(f"  backroom collect, acknowledged:      {total / export_s:,.0f} spans/s "
          f"({(total / export_s) / (total / baseline_s):.2f} x baseline)")
    print(f"  backroom collect, stored (incl. shutdown flush): {stored / stored_s:,.0f} spans/s")
    print(f"  export failures: {failed}, dropped: {total - stored}")
    assert failed == 0 and stored == total
