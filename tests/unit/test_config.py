"""Settings: the environment round trip and the per-job topic names."""

from __future__ import annotations

from trendlab.config import Settings
from trendlab.kafka import job_topics


def test_to_env_is_the_inverse_of_from_env():
    settings = Settings(kafka_bootstrap_servers="broker:29092", flink_parallelism=3, api_token="t0k",
                        min_event_time="2015-01-01", home="/srv/trendlab", cache_dir="/srv/cache")
    assert Settings.from_env(settings.to_env()) == settings


def test_own_topics_rename_every_job_topic_and_nothing_else():
    default = Settings()
    own = default.with_own_topics("it-1234")
    assert set(job_topics(own)).isdisjoint(job_topics(default))
    assert all(name.startswith("it-1234-") for name in job_topics(own))
    assert own.replace(**{f: getattr(default, f) for f in vars(default) if f.startswith("kafka_topic_")}) == default
