"""docker-compose.yml cannot run here: check what can be checked without Docker.

Services, pinned images (no ``latest``), ports and environment variables consistent with
``trendlab.config``, the Flink image's Dockerfile (Flink and connector versions as pinned).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from trendlab.config import VARIABLES, Settings

ROOT = Path(__file__).resolve().parents[2]
TRENDLAB_SERVICES = ("jobmanager", "taskmanager", "jupyter", "service")
KNOWN_ENV = {v.env for v in VARIABLES.values()}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _default(value: str) -> str:
    """``${NAME:-default}`` → ``default`` (what compose uses when the variable is unset)."""
    match = re.fullmatch(r"\$\{(\w+)(?::-(.*))?\}", value)
    return (match.group(2) or "") if match else value


def _published(service: dict) -> dict[int, int]:
    out = {}
    for port in service.get("ports", []):
        host, _, container = str(port).rpartition(":")
        out[int(container)] = int(host)
    return out


def test_services(compose):
    assert set(compose["services"]) >= {"kafka", "minio", "minio-init", "jobmanager", "taskmanager", "jupyter", "service"}
    assert compose["services"]["jobmanager"]["command"] == "jobmanager"
    assert compose["services"]["taskmanager"]["command"] == "taskmanager"
    assert "serve" in compose["services"]["service"]["command"]
    assert "jupyterlab" in compose["services"]["jupyter"]["command"]


def test_images_pinned(compose):
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name}: no image"
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and "/" not in tag, f"{name}: image {image!r} is not pinned"
    assert compose["services"]["kafka"]["image"].startswith("apache/kafka:4.")
    assert re.search(r"minio/minio:RELEASE\.\d{4}-", compose["services"]["minio"]["image"])
    for name in TRENDLAB_SERVICES:
        assert compose["services"][name]["build"]["dockerfile"] == "docker/flink/Dockerfile"


def test_kafka_is_kraft(compose):
    env = _env(compose["services"]["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "ZOOKEEPER" not in " ".join(env)


def test_bucket_is_made(compose):
    init = compose["services"]["minio-init"]
    assert "mc mb" in " ".join(init["command"]) and "TRENDLAB_BUCKET" in " ".join(init["command"])
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    assert compose["services"]["jobmanager"]["depends_on"]["minio-init"]["condition"] == "service_completed_successfully"


def test_environment_names_and_values_match_config(compose):
    for name in TRENDLAB_SERVICES:
        env = _env(compose["services"][name])
        unknown = {k for k in env if k not in KNOWN_ENV and k != "FLINK_PROPERTIES"}
        assert not unknown, f"{name}: variables not in trendlab.config.VARIABLES: {sorted(unknown)}"
        settings = Settings.from_env({k: _default(v) for k, v in env.items() if k in KNOWN_ENV})
        assert settings.kafka_bootstrap_servers.split(":")[0] == "kafka"
        assert settings.minio_endpoint.split(":")[0] == "minio"
        assert settings.flink_jobmanager_host == "jobmanager"
        for required in ("KAFKA_BOOTSTRAP_SERVERS", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "FLINK_JOBMANAGER_HOST"):
            assert required in env, f"{name}: {required} missing"


def test_secrets_come_from_the_environment(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    for var in (v for v in VARIABLES.values() if v.secret):
        for line in text.splitlines():
            if line.strip().startswith(f"{var.env}:"):
                assert "${" + var.env in line, f"{var.env} must be interpolated from the environment: {line.strip()}"


def test_ports_consistent_with_config(compose):
    services = compose["services"]
    env = _env(services["service"])
    settings = Settings.from_env({k: _default(v) for k, v in env.items() if k in KNOWN_ENV})
    assert _published(services["jobmanager"]).get(settings.flink_jobmanager_port) == settings.flink_jobmanager_port
    assert int(settings.kafka_bootstrap_servers.rsplit(":", 1)[1]) in _published(services["kafka"]) or \
        "INTERNAL://:" + settings.kafka_bootstrap_servers.rsplit(":", 1)[1] in _env(services["kafka"])["KAFKA_LISTENERS"]
    assert 9092 in _published(services["kafka"])  # host clients use the config default 127.0.0.1:9092
    assert int(settings.minio_endpoint.rsplit(":", 1)[1]) in _published(services["minio"])
    assert settings.prometheus_port in _published(services["service"])
    defaults = Settings()
    assert _published(services["kafka"])[9092] == int(defaults.kafka_bootstrap_servers.rsplit(":", 1)[1])
    assert _published(services["minio"])[9000] == int(defaults.minio_endpoint.rsplit(":", 1)[1])
    assert defaults.minio_console_port in _published(services["minio"])


def test_flink_properties_checkpoint_to_minio(compose):
    props = _env(compose["services"]["jobmanager"])["FLINK_PROPERTIES"]
    assert "s3.endpoint: http://minio:9000" in props
    assert "execution.checkpointing.dir: s3://" in props
    assert "state.backend.type: rocksdb" in props


def test_dockerfile_matches_pins():
    dockerfile = (ROOT / "docker" / "flink" / "Dockerfile").read_text()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    flink = next(d for d in deps if d.startswith("apache-flink==")).split("==")[1]
    assert re.search(rf"^FROM flink:{re.escape(flink)}-", dockerfile, re.M), "Flink image must match apache-flink pin"
    assert "PYTHON_VERSION=3.11." in dockerfile
    assert "flink-sql-connector-kafka" in dockerfile and "KAFKA_CONNECTOR_VERSION=5.0.0-2.2" in dockerfile
    assert f"flink-s3-fs-presto-{flink}.jar" in dockerfile and "plugins/s3-fs-presto" in dockerfile
    assert "sha1sum -c" in dockerfile
    # the compiled kernels are built into the image (the job's Python workers use them)
    assert "COPY native ./native" in dockerfile and "pip install --no-cache-dir ./native" in dockerfile
    assert "import trendlab_native" in dockerfile


def test_prometheus_scrapes_flinks_reporter_and_the_service(compose):
    from trendlab.stack.artifacts import FLINK_PROMETHEUS_REPORTER_VERSION
    from trendlab.stack.flink_cluster import metrics_reporter_config

    props = yaml.safe_load(_env(compose["services"]["jobmanager"])["FLINK_PROPERTIES"])
    factory = "metrics.reporter.prom.factory.class"
    assert props[factory] == metrics_reporter_config(Settings())[factory]
    reporter_port = int(props["metrics.reporter.prom.port"])
    service_port = Settings.from_env({k: _default(v) for k, v in _env(compose["services"]["service"]).items()
                                      if k in KNOWN_ENV}).prometheus_port
    prometheus = compose["services"]["prometheus"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in prometheus["volumes"]}
    config = yaml.safe_load((ROOT / mounted["/etc/prometheus/prometheus.yml"]).read_text())
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {f"jobmanager:{reporter_port}", f"taskmanager:{reporter_port}", f"service:{service_port}"}
    dockerfile = (ROOT / "docker" / "flink" / "Dockerfile").read_text()
    assert f"PROMETHEUS_REPORTER_VERSION={FLINK_PROMETHEUS_REPORTER_VERSION}" in dockerfile
    assert "plugins/metrics-prometheus" in dockerfile


def test_grafana_is_provisioned_from_the_repository(compose):
    grafana = compose["services"]["grafana"]
    mounted = {v.split(":")[1]: ROOT / v.split(":")[0] for v in grafana["volumes"]}
    provisioning = mounted["/etc/grafana/provisioning"]
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090" and datasource["type"] == "prometheus"
    provider = yaml.safe_load((provisioning / "dashboards" / "trendlab.yml").read_text())["providers"][0]
    dashboards = mounted[provider["options"]["path"]]
    import json

    dashboard = json.loads((dashboards / "trendlab.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]


def _interpolated(text: str) -> str:
    """Every ``${NAME:-default}`` in ``text`` → its default (what compose uses when NAME is unset)."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: m.group(2) or "", text)


def _flat(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_flink_properties_are_trendlab_conf(compose):
    """FLINK_PROPERTIES is trendlab.flink_kafka_conf.flink_cluster_conf for the containers, key for key."""
    from trendlab.flink_kafka_conf import flink_cluster_conf

    env = _env(compose["services"]["jobmanager"])
    settings = Settings.from_env({k: _interpolated(v) for k, v in env.items() if k in KNOWN_ENV})
    props = yaml.safe_load(_interpolated(env["FLINK_PROPERTIES"]))
    expected = flink_cluster_conf(settings, address="jobmanager", bind_host="0.0.0.0",
                                  python="/usr/local/bin/python", s3_endpoint="http://minio:9000")
    # the Prometheus reporter (metrics.reporter.*) is checked by test_prometheus_scrapes_flinks_reporter_and_the_service
    assert {k: _flat(v) for k, v in props.items() if not k.startswith("metrics.reporter.")} == expected


def test_kafka_broker_policy_is_trendlab_conf(compose):
    from trendlab.flink_kafka_conf import kafka_broker_conf

    env = _env(compose["services"]["kafka"])
    for key, value in kafka_broker_conf().items():
        name = "KAFKA_" + key.upper().replace(".", "_")
        assert env.get(name) == value, f"{name}: compose {env.get(name)!r}, trendlab.flink_kafka_conf {value!r}"
