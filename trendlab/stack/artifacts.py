"""Pinned artefacts of the local stack: download once, verify, cache under ``Settings.cache_dir``.

- Single jars from Maven Central (the Flink Kafka SQL connector, the S3 filesystem plugin, the
  Prometheus metrics reporter) are
  fetched over HTTPS and checked against the ``.sha512`` (else ``.sha1``) Maven publishes next to them.
- The Kafka broker's dependency tree is resolved by the preinstalled ``mvn`` from a generated POM,
  with strict checksum verification (``-C``), into a Maven repository inside the cache.
- The MinIO server is built by ``go install module@version``; Go verifies the module against its
  checksum database.

Every function returns the cached result straight away when it is already there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from trendlab.config import Settings
from trendlab.errors import StackError

log = logging.getLogger("trendlab.stack")

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"

KAFKA_VERSION = "4.1.1"
KAFKA_SCALA = "2.13"
# Kafka's distribution ships log4j2 as the backend of its slf4j logging; the kafka_2.13 POM does not.
LOG4J_VERSION = "2.24.3"
FLINK_KAFKA_CONNECTOR_VERSION = "5.0.0-2.2"
# flink-s3-fs-presto is not published for 2.2.1; the 2.2.0 plugin is the one for Flink 2.2.x.
FLINK_S3_PLUGIN_VERSION = "2.2.0"
# Flink's Prometheus metrics reporter, published for every Flink release (2.2.1 included).
FLINK_PROMETHEUS_REPORTER_VERSION = "2.2.1"
MINIO_MODULE = "github.com/minio/minio"
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"


@dataclass(frozen=True)
class MavenArtifact:
    group: str
    artifact: str
    version: str

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def url(self) -> str:
        return f"{MAVEN_CENTRAL}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.file_name}"

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


KAFKA_CONNECTOR = MavenArtifact("org.apache.flink", "flink-sql-connector-kafka", FLINK_KAFKA_CONNECTOR_VERSION)
S3_PLUGIN = MavenArtifact("org.apache.flink", "flink-s3-fs-presto", FLINK_S3_PLUGIN_VERSION)
PROMETHEUS_REPORTER = MavenArtifact("org.apache.flink", "flink-metrics-prometheus", FLINK_PROMETHEUS_REPORTER_VERSION)


def cache_root(settings: Settings) -> Path:
    return Path(settings.cache_dir).expanduser()


# -- single jars from Maven Central --------------------------------------------------------------

def maven_jar(settings: Settings, artifact: MavenArtifact) -> Path:
    """The cached jar of ``artifact``, downloaded and checksum-verified on first use."""
    target = cache_root(settings) / "maven" / artifact.group / artifact.artifact / artifact.version / artifact.file_name
    if target.is_file():
        return target
    import httpx

    target.parent.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=httpx.Timeout(60.0, connect=20.0), follow_redirects=True) as client:
        algorithm, expected = _published_checksum(client, artifact)
        digest = hashlib.new(algorithm)
        part = target.with_name(target.name + ".part")
        log.info("downloading %s", artifact)
        try:
            with client.stream("GET", artifact.url) as response:
                if response.status_code != 200:
                    raise StackError(f"download of {artifact} failed: HTTP {response.status_code} from {artifact.url}")
                total = int(response.headers.get("content-length") or 0) or None
                with open(part, "wb") as out, _progress(total, artifact.file_name) as bar:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        except httpx.HTTPError as exc:
            part.unlink(missing_ok=True)
            raise StackError(f"download of {artifact} failed: {exc}") from None
    if digest.hexdigest() != expected:
        part.unlink(missing_ok=True)
        raise StackError(f"checksum mismatch for {artifact}: {algorithm} {digest.hexdigest()} != published {expected}")
    part.replace(target)
    return target


def _published_checksum(client, artifact: MavenArtifact) -> tuple[str, str]:
    for algorithm in ("sha512", "sha1"):
        response = client.get(f"{artifact.url}.{algorithm}")
        if response.status_code == 200 and response.text.strip():
            return algorithm, response.text.split()[0].strip().lower()
        if response.status_code != 404:
            raise StackError(f"checksum of {artifact}: HTTP {response.status_code} from {artifact.url}.{algorithm}")
    raise StackError(f"{artifact} is not on Maven Central (no {artifact.url}.sha512 or .sha1)")


def _progress(total: int | None, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, leave=False)


def kafka_connector_jar(settings: Settings) -> Path:
    """``flink-sql-connector-kafka`` for this Flink minor (also in the stack's cluster ``lib/``)."""
    return maven_jar(settings, KAFKA_CONNECTOR)


def s3_plugin_jar(settings: Settings) -> Path:
    """``flink-s3-fs-presto``: goes into its own folder under the Flink plugins dir."""
    return maven_jar(settings, S3_PLUGIN)


def prometheus_reporter_jar(settings: Settings) -> Path:
    """``flink-metrics-prometheus``: a plugin too (``plugins/metrics-prometheus/``)."""
    return maven_jar(settings, PROMETHEUS_REPORTER)


# -- the Kafka broker: a dependency tree resolved by Maven --------------------------------------

_KAFKA_POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by trendlab.stack.artifacts: the Kafka broker and its runtime dependencies. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>trendlab.stack</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>{kafka}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
      </plugin>
    </plugins>
  </build>
</project>
"""


def kafka_libs(settings: Settings) -> Path:
    """A folder with the Kafka broker's jars (``java -cp '<folder>/*' kafka.Kafka …``)."""
    root = cache_root(settings) / "kafka" / f"kafka_{KAFKA_SCALA}-{KAFKA_VERSION}"
    libs = root / "libs"
    done = root / ".complete"
    if done.is_file() and any(libs.glob(f"kafka_{KAFKA_SCALA}-{KAFKA_VERSION}.jar")):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("kafka: cannot fetch the broker jars: 'mvn' (Apache Maven) is not on PATH")
    root.mkdir(parents=True, exist_ok=True)
    pom = root / "pom.xml"
    pom.write_text(_KAFKA_POM.format(kafka=KAFKA_VERSION, scala=KAFKA_SCALA, log4j=LOG4J_VERSION))
    staging = Path(tempfile.mkdtemp(prefix="libs.", dir=root))
    command = [
        mvn, "-B", "-q", "-C", "-f", str(pom),
        f"-Dmaven.repo.local={cache_root(settings) / 'm2'}",
        "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]
    log.info("resolving Kafka %s and its dependencies from Maven Central (checksums verified)", KAFKA_VERSION)
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, cwd=root)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        detail = _last_error_line(result.stdout + result.stderr)
        raise StackError(f"kafka: resolving the broker jars with mvn failed: {detail}")
    if libs.exists():
        shutil.rmtree(libs)
    staging.rename(libs)
    done.write_text(f"{KAFKA_VERSION}\n")
    log.info("kafka jars ready in %s (%.0fs)", libs, time.monotonic() - started)
    return libs


def _last_error_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("[ERROR]")]
    return (errors or lines or ["no output"])[0][:300]


# -- the MinIO server: built from the Go module proxy -------------------------------------------

def minio_binary(settings: Settings) -> Path:
    """The pinned MinIO server binary, built with ``go install`` on first use (several minutes)."""
    gobin = cache_root(settings) / "minio" / MINIO_VERSION / "bin"
    binary = gobin / "minio"
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    go = shutil.which("go")
    if go is None:
        raise StackError("minio: cannot build the server: 'go' (the Go toolchain) is not on PATH")
    gobin.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GOBIN=str(gobin), CGO_ENABLED=os.environ.get("CGO_ENABLED", "0"))
    log.info(
        "building the MinIO server %s@%s with go install (first run only; takes several minutes)",
        MINIO_MODULE, MINIO_VERSION,
    )
    started = time.monotonic()
    process = subprocess.Popen(
        [go, "install", "-v", f"{MINIO_MODULE}@{MINIO_VERSION}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=gobin,
    )
    tail: list[str] = []
    built = 0
    last_report = started
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-20:]
        if line.startswith("go: downloading"):
            continue
        built += 1
        now = time.monotonic()
        if now - last_report >= 30:
            log.info("minio build: %d packages compiled, %.0fs so far (at %s)", built, now - started, line)
            last_report = now
    if process.wait() != 0 or not binary.is_file():
        errors = [t for t in tail if "error" in t.lower() or t.startswith("go:")] or tail or ["no output"]
        raise StackError(f"minio: go install {MINIO_MODULE}@{MINIO_VERSION} failed: {errors[-1][:300]}")
    log.info("minio server built in %.0fs: %s", time.monotonic() - started, binary)
    return binary
