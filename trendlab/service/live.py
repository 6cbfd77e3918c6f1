"""``/trends/live``: a small page that shows ``GET /trends`` and refreshes itself.

The script is served from ``/trends/live.js`` (the page's Content-Security-Policy allows scripts from
the service only) and writes keywords with ``textContent``: a keyword is user text, never markup.
Rows carry ``data-topic`` and the table ``data-updated`` (how many refreshes it did), for tests.
"""

from __future__ import annotations

CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self'"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trendlab: live trends</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2em; color: #1b1f24; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; }
  #meta { color: #57606a; margin-bottom: 1em; }
  table { border-collapse: collapse; min-width: 40em; }
  th, td { text-align: left; padding: .35em .8em; border-bottom: 1px solid #d0d7de; }
  th { background: #f6f8fa; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .hot { color: #cf222e; font-weight: 600; }
  .cooling { color: #57606a; }
  #empty { color: #57606a; padding: 1em 0; }
  #error { color: #cf222e; }
</style>
</head>
<body>
<h1>Live trends</h1>
<div id="meta">stream time <span id="clock">-</span> &middot; refreshed every <span id="every">REFRESH_MS</span> ms
  &middot; <span id="error"></span></div>
<table id="trends" data-updated="0" data-refresh-ms="REFRESH_MS">
  <thead><tr><th>topic</th><th>keywords</th><th>posts</th><th>authors</th><th>started</th><th>status</th></tr></thead>
  <tbody></tbody>
</table>
<div id="empty">no trends yet</div>
<script src="/trends/live.js"></script>
</body>
</html>
"""

SCRIPT = """'use strict';
(function () {
  const table = document.getElementById('trends');
  const every = parseInt(table.dataset.refreshMs, 10) || 2000;
  const MAX_KEYWORDS = 8;
  function cell(row, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }
  function render(data) {
    const body = table.tBodies[0];
    const rows = [];
    for (const t of data.trends) {
      const tr = document.createElement('tr');
      tr.dataset.topic = t.topic;
      cell(tr, t.display_name || t.topic);
      const words = t.keywords.concat(t.related_keywords || []).filter((k) => k !== t.topic);
      const shown = words.slice(0, MAX_KEYWORDS);
      const more = words.length - shown.length;
      cell(tr, shown.join(', ') + (more > 0 ? ' +' + more + ' more' : ''));
      cell(tr, String(t.count), 'num');
      cell(tr, String(t.unique_authors), 'num');
      cell(tr, t.started_at);
      cell(tr, t.status, t.status);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    document.getElementById('clock').textContent = data.stream_time || '-';
    document.getElementById('empty').hidden = rows.length > 0;
    document.getElementById('error').textContent = data.follower_error || '';
    table.dataset.updated = String(parseInt(table.dataset.updated, 10) + 1);
  }
  async function refresh() {
    try {
      const response = await fetch('/trends', {headers: {'Accept': 'application/json'}, cache: 'no-store'});
      if (!response.ok) throw new Error('GET /trends: HTTP ' + response.status);
      render(await response.json());
    } catch (err) {
      document.getElementById('error').textContent = String(err);
    } finally {
      setTimeout(refresh, every);
    }
  }
  refresh();
})();
"""


def page(refresh_ms: int) -> str:
    return PAGE.replace("REFRESH_MS", str(int(refresh_ms)))
