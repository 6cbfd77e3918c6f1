"""The REST service (`trendlab serve`): health, Prometheus metrics, Flink job status/deploy/stop, live trends.

See :mod:`trendlab.service.app` for the endpoints.
"""

from __future__ import annotations

from trendlab.config import get_settings

#: on SIGINT/SIGTERM, requests still in flight after this many seconds are cancelled
SHUTDOWN_GRACE_S = 3.0


def create_app(settings=None, **options):
    from trendlab.service.app import create_app as _create

    return _create(settings, **options)


def cmd_serve(args) -> int:
    import uvicorn

    from prometheus_client import start_http_server

    settings = get_settings()
    app = create_app(settings)
    metrics_port = settings.prometheus_port if args.metrics_port is None else args.metrics_port
    if metrics_port:
        # the same registry as GET /metrics, on its own port for scrapers (PROMETHEUS_PORT)
        start_http_server(metrics_port, addr=args.host, registry=app.state.registry)
    try:
        # uvicorn re-raises the signal it caught once it has shut down: SIGTERM then ends the process
        # at once, SIGINT comes back as KeyboardInterrupt
        uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level.lower(),
                    timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    except KeyboardInterrupt:
        _exit_without_stuck_workers(130)
        raise
    _exit_without_stuck_workers(0)
    return 0


def _exit_without_stuck_workers(status: int) -> None:
    """After a signal, uvicorn cancels requests still running after :data:`SHUTDOWN_GRACE_S`; a worker
    thread of such a request may still be blocked in a call to Flink, Kafka or MinIO (a deploy waiting
    for slots: up to ``TRENDLAB_DEPLOY_TIMEOUT_S``), and Python would wait for it before exiting. Its
    answer has nobody to go to: say so in one line and exit now (the deploy lock is a file lock: the
    kernel releases it with the process)."""
    import logging
    import os
    import sys
    import threading

    stuck = [t for t in threading.enumerate()
             if t is not threading.main_thread() and not t.daemon and t.is_alive() and t.name == "AnyIO worker thread"]
    if not stuck:
        return
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    logging.getLogger("trendlab.service").warning(
        "trendlab serve: exiting with %d request(s) still waiting on a dependency (cancelled after %.0fs)",
        len(busy), SHUTDOWN_GRACE_S)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(status)


def add_cli(sub) -> None:
    p = sub.add_parser("serve", help="the REST service: health, metrics, Flink job status/deploy/stop, live trends, moderation")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="also serve /metrics on this port (default PROMETHEUS_PORT; 0: off)")
    p.set_defaults(func=cmd_serve)
