"""The REST service (`trendlab serve`): health, Prometheus metrics, Flink job status/deploy/stop, live trends.

See :mod:`trendlab.service.app` for the endpoints.
"""

from __future__ import annotations

from trendlab.config import get_settings


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
    uvicorn.run(app, host=args.host, port=args.port, log_level=settings.log_level.lower())
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("serve", help="the REST service: health, metrics, Flink job status/deploy/stop, live trends")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--metrics-port", type=int, default=None,
                   help="also serve /metrics on this port (default PROMETHEUS_PORT; 0: off)")
    p.set_defaults(func=cmd_serve)
