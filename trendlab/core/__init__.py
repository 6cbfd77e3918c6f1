"""The definition: what a post is, how it is parsed, which keywords it carries, how they are counted
in windows and when a count is a trend. It imports only itself, :mod:`trendlab.errors` and the
configuration types; it reads no environment and does no I/O (callers pass settings and limits in).
See ``docs/layout.md``."""
