"""Bluesky's Jetstream in: ``trendlab jetstream record`` (to a file) and ``trendlab jetstream ingest`` (to Kafka).

* :mod:`trendlab.jetstream.subscriber` — the v1 ``/subscribe`` client both commands use: every event once
  and in order through reconnects, zstd frames with Jetstream's dictionary, bad frames counted;
* :mod:`trendlab.jetstream.recorder` — events as JSON lines (``.gz`` / ``.zst`` by the file name);
* :mod:`trendlab.jetstream.ingest` — posts into Kafka with the cursor kept in Kafka itself;
* :mod:`trendlab.cli.feed` — the two subcommands.

``legacy_subscribe.zdict`` is Jetstream's own zstd dictionary (MIT / Apache-2.0, see DICTIONARY.md).
"""

from trendlab.jetstream.subscriber import PUBLIC_URLS, ClientStats, Event, JetstreamClient

__all__ = ["PUBLIC_URLS", "ClientStats", "Event", "JetstreamClient"]
