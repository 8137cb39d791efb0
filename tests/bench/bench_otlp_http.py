"""OTLP/HTTP receiver throughput: real SDK exporters in several processes against `backroom collect`.

Run with `make bench` (or `.venv/bin/pytest tests/bench/bench_otlp_http.py -m bench -s`).

Each producer process builds its finished SDK spans before the clock starts, then hands them to
a BatchSpanProcessor whose OTLPSpanExporter (protobuf over HTTP) sends 512-span exports, one at
a time, as an instrumented service would; its queue holds every span, so the producer never
drops any. The figure is spans *stored* per second end to end: from the start signal until
`collect` has exited after SIGTERM (every span committed, counted from its summary). The
baseline, measured in the same run, is the same producers against a bare HTTP server process
that reads and discards each body: the most the producers can send on this machine.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest

pytestmark = pytest.mark.bench
PROCESSES, BATCHES, BATCH = 4, 150, 512  # 307,200 spans per run, about 15 s at the target
ROOT = Path(__file__).resolve().parents[2]


def _spans(worker: int, count: int) -> list[Any]:
    """Finished SDK spans with retail attributes, made before the clock starts."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    kept: list[Any] = []

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


def _export(endpoint: str, worker: int, count: int, ready, go, results) -> None:  # type: ignore[no-untyped-def]
    """One producer: a BatchSpanProcessor over the real exporter; reports failed spans and CPU s."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

    failed = 0

    class Counting(OTLPSpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            nonlocal failed
            result = super().export(spans)
            if result is not SpanExportResult.SUCCESS:
                failed += len(spans)
            return result

    spans = _spans(worker, count)
    processor = BatchSpanProcessor(Counting(endpoint=endpoint, timeout=60), max_queue_size=count,
                                   max_export_batch_size=BATCH, schedule_delay_millis=50)
    ready.release()
    go.wait()
    cpu = time.process_time()
    for span in spans:
        processor.on_end(span)
    processor.force_flush()
    processor.shutdown()
    results.put((failed, time.process_time() - cpu))


class Run(NamedTuple):
    """One run of the producers against a server."""

    seconds: float  # until every producer had exported all its spans
    failed: int  # spans whose export failed
    started: float  # perf_counter at the start signal
    server_cpu: float  # CPU seconds the server used meanwhile
    producer_cpu: float  # CPU seconds the producers used from the start signal until done


def _run_producers(endpoint: str, server_pid: int) -> Run:
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    workers = [context.Process(target=_export, args=(endpoint, n, BATCHES * BATCH, ready, go, results))
               for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.acquire()
    server_before = _cpu_seconds(server_pid)
    started = time.perf_counter()
    go.set()
    reports = [results.get() for _ in workers]
    elapsed = time.perf_counter() - started
    server_cpu = _cpu_seconds(server_pid) - server_before
    for worker in workers:
        worker.join()
    return Run(elapsed, sum(failed for failed, _ in reports), started, server_cpu,
               sum(cpu for _, cpu in reports))


def _reaped_cpu() -> float:
    """CPU seconds of every child process that has exited and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Discard(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve_discarding(port: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discard)
    server.daemon_threads = True
    port.value = server.server_address[1]
    server.serve_forever()


def _baseline() -> Run:
    """The producers against a server process that reads and discards the bodies."""
    context = multiprocessing.get_context("spawn")
    port = context.Value("i", 0)
    server = context.Process(target=_serve_discarding, args=(port,), daemon=True)
    server.start()
    while not port.value:
        time.sleep(0.01)
    try:
        run = _run_producers(f"http://127.0.0.1:{port.value}/v1/traces", server.pid or 0)
    finally:
        server.terminate()
        server.join()
    assert run.failed == 0
    return run


def test_otlp_http_receiver_throughput(tmp_path: Path) -> None:
    total = PROCESSES * BATCHES * BATCH
    baseline = _baseline()
    baseline_rate = total / baseline.seconds

    env = {**os.environ, "BACKROOM_HOME": str(tmp_path / "home")}
    collect = subprocess.Popen(
        [sys.executable, "-m", "console.cli", "collect", "--otlp-http", "127.0.0.1:0", "--db",
         str(tmp_path / "bench.duckdb"), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=ROOT)
    assert collect.stderr is not None
    port = int(collect.stderr.readline().decode().rsplit(":", 1)[1].split("/")[0])
    run = _run_producers(f"http://127.0.0.1:{port}/v1/traces", collect.pid)
    at_start = _cpu_seconds(collect.pid) - run.server_cpu  # collect's CPU seconds at the start signal
    reaped = _reaped_cpu()
    collect.send_signal(signal.SIGTERM)
    out, err = collect.communicate(timeout=300)
    stored_s = time.perf_counter() - run.started  # until the last span was committed and collect exited
    receiver_cpu = _reaped_cpu() - reaped - at_start  # its lifetime, less what it used before the start
    assert collect.returncode == 0, err
    summary = orjson.loads(out)
    stored, stored_rate = summary["rows"]["spans"], summary["rows"]["spans"] / stored_s
    print(f"\nOTLP/HTTP receiver, {PROCESSES} producer processes (SDK BatchSpanProcessor + "
          f"OTLPSpanExporter, protobuf), {total:,} spans, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  baseline, server that discards the bodies: {baseline_rate:,.0f} spans/s "
          f"(producers' CPU {baseline.producer_cpu / total * 1e6:.1f} us/span)")
    print(f"  backroom collect, acknowledged (durable):   {total / run.seconds:,.0f} spans/s "
          f"= {baseline.seconds / run.seconds:.2f} x baseline")
    print(f"  backroom collect, stored incl. shutdown:    {stored_rate:,.0f} spans/s "
          f"= {stored_rate / baseline_rate:.2f} x baseline (target >= 20,000 spans/s)")
    print(f"  receiver CPU {receiver_cpu / total * 1e6:.1f} us/span from start to exit; "
          f"export failures: {run.failed}, dropped: {total - stored}, "
          f"spooled at exit: {summary['spooled_rows']}")
    assert run.failed == 0 and stored == total
