"""``/trends/live``: a small page that shows ``GET /trends`` and refreshes itself.

The script is served from ``/trends/live.js`` (the page's Content-Security-Policy allows scripts from
the service only) and writes every trend's text with ``textContent``: a topic is user text, never
markup. Topics are shown in an isolated, direction-detecting box (``dir="auto"``: right-to-left text
does not reorder the row) clamped to three lines (a 10 KB phrase does not stretch the table).

* a **language selector** (``#lang``): all languages, or one of those on the board (``/trends``'
  ``languages``); the choice is sent as ``?lang=`` and kept for the session;
* **moderator controls** (``#moderate``): with the token (kept in the tab's ``sessionStorage`` only) the
  page lists ``/moderation/trends`` instead, with each trend's status and *approve* / *reject*
  buttons (``POST /moderation/approve|reject`` with the token and the moderator's name). Without a
  token the controls work from the service's own host when it runs without one (loopback).

Trending links (``/trends?kind=link``) have a table of their own (``#links``) under the topics; a link
is shown as a link (``https://`` only, ``rel="nofollow noopener noreferrer"``), its text as text.

Rows carry ``data-topic`` (and ``data-id``, ``data-status`` for moderators) and the topics' table
``data-updated`` (how many refreshes it did), for tests.
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
  h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.6em 0 .4em; }
  #meta { color: #57606a; margin-bottom: .6em; }
  #controls { margin-bottom: 1em; display: flex; gap: 1.2em; flex-wrap: wrap; align-items: baseline; }
  #moderate summary { cursor: pointer; color: #0969da; }
  #moderate input { margin: 0 .3em; }
  table { border-collapse: collapse; min-width: 40em; }
  th, td { text-align: left; padding: .35em .8em; border-bottom: 1px solid #d0d7de; vertical-align: top; }
  th { background: #f6f8fa; white-space: nowrap; }
  td.topic .text { max-width: 26em; min-width: 8em; } td.words .text { max-width: 22em; min-width: 8em; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  td.when { white-space: nowrap; }
  td .text { unicode-bidi: isolate; overflow-wrap: anywhere; display: -webkit-box; -webkit-box-orient: vertical;
             -webkit-line-clamp: 3; overflow: hidden; max-height: 4.2em; }
  .hot { color: #cf222e; font-weight: 600; }
  .cooling { color: #57606a; }
  .pending { color: #9a6700; font-weight: 600; } .approved, .published { color: #1a7f37; }
  .rejected, .denied { color: #57606a; text-decoration: line-through; }
  .mod-only { display: none; }
  body.moderating .mod-only { display: table-cell; }
  #empty, #no-links { color: #57606a; padding: 1em 0; }
  #error { color: #cf222e; }
  button { font: inherit; margin-right: .3em; }
</style>
</head>
<body>
<h1>Live trends</h1>
<div id="meta">stream time <span id="clock">-</span> &middot; refreshed every <span id="every">REFRESH_MS</span> ms
  &middot; <span id="mode"></span> <span id="error"></span></div>
<div id="controls">
  <label>language <select id="lang"><option value="all">all languages</option></select></label>
  <details id="moderate"><summary>moderate</summary>
    <label>token <input id="token" type="password" autocomplete="off" size="18"></label>
    <label>name <input id="moderator" type="text" autocomplete="off" size="14" maxlength="64"></label>
    <button id="moderate-on" type="button">show moderator view</button>
    <button id="moderate-off" type="button">reader view</button>
  </details>
</div>
<table id="trends" data-updated="0" data-refresh-ms="REFRESH_MS">
  <thead><tr><th class="topic">topic</th><th class="words">keywords</th><th class="num">posts</th>
    <th class="num">authors</th><th class="when">started</th><th class="status">status</th>
    <th class="category">category</th><th class="language">language</th>
    <th class="status mod-only">moderation</th><th class="actions mod-only">decide</th></tr></thead>
  <tbody></tbody>
</table>
<div id="empty">no trends yet</div>
<h2>Trending links</h2>
<table id="links">
  <thead><tr><th class="topic">link</th><th class="num">posts</th><th class="num">authors</th>
    <th class="when">started</th><th class="status">status</th><th class="language">language</th>
    <th class="status mod-only">moderation</th><th class="actions mod-only">decide</th></tr></thead>
  <tbody></tbody>
</table>
<div id="no-links">no trending links yet</div>
<script src="/trends/live.js"></script>
</body>
</html>
"""

SCRIPT = """'use strict';
(function () {
  const table = document.getElementById('trends');
  const every = parseInt(table.dataset.refreshMs, 10) || 2000;
  const MAX_KEYWORDS = 8;
  const langSelect = document.getElementById('lang');
  const tokenInput = document.getElementById('token');
  const nameInput = document.getElementById('moderator');
  let moderating = sessionStorage.getItem('trendlab.moderating') === '1';
  tokenInput.value = sessionStorage.getItem('trendlab.token') || '';
  nameInput.value = sessionStorage.getItem('trendlab.moderator') || '';
  const savedLang = sessionStorage.getItem('trendlab.lang');
  if (savedLang) addOption(savedLang);
  langSelect.value = savedLang || 'all';
  let timer = null;

  function addOption(lang) {
    if ([...langSelect.options].some((o) => o.value === lang)) return;
    const option = document.createElement('option');
    option.value = lang;
    option.textContent = lang;
    langSelect.appendChild(option);
  }
  function cell(row, text, cls, extra) {
    const td = document.createElement('td');
    if (extra) {
      const box = document.createElement('div');
      box.className = 'text';
      box.dir = 'auto';
      box.textContent = text;
      box.title = text.length > 300 ? text.slice(0, 300) + '…' : text;
      td.appendChild(box);
    } else {
      td.textContent = text;
    }
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }
  function headers(json) {
    const h = {'Accept': 'application/json'};
    if (json) h['Content-Type'] = 'application/json';
    if (tokenInput.value) h['Authorization'] = 'Bearer ' + tokenInput.value;
    if (nameInput.value) h['X-Trendlab-Moderator'] = nameInput.value;
    return h;
  }
  async function decide(action, id) {
    const response = await fetch('/moderation/' + action, {method: 'POST', headers: headers(true), cache: 'no-store',
      body: JSON.stringify({id: id})});
    if (!response.ok) {
      const text = await response.text();
      throw new Error('POST /moderation/' + action + ': HTTP ' + response.status + ' ' + text.slice(0, 200));
    }
    refreshNow();
  }
  function button(td, label, action, id) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.action = action;
    b.addEventListener('click', () => decide(action, id).catch((err) => {
      document.getElementById('error').textContent = String(err);
    }));
    td.appendChild(b);
  }
  function linkCell(row, url) {
    const td = cell(row, '', 'topic');
    const box = document.createElement('div');
    box.className = 'text';
    box.dir = 'ltr';
    const a = document.createElement('a');
    a.textContent = url;
    if (url.startsWith('https://')) a.href = url;  // what the service counts (trendlab.core.links); nothing else
    a.rel = 'nofollow noopener noreferrer';
    a.target = '_blank';
    box.appendChild(a);
    td.appendChild(box);
  }
  function render(data) {
    const body = table.tBodies[0];
    const linkBody = document.getElementById('links').tBodies[0];
    const rows = [];
    const linkRows = [];
    for (const t of data.trends) {
      const tr = document.createElement('tr');
      tr.dataset.topic = t.topic;
      if (t.id) tr.dataset.id = t.id;
      if (t.moderation) tr.dataset.status = t.moderation;
      if (t.kind === 'link') {
        linkCell(tr, t.topic);
        linkRows.push(tr);
      } else {
        cell(tr, t.display_name || t.topic, 'topic', true);
        const words = t.keywords.concat(t.related_keywords || []).filter((k) => k !== t.topic);
        const shown = words.slice(0, MAX_KEYWORDS);
        const more = words.length - shown.length;
        cell(tr, shown.join(', ') + (more > 0 ? ' +' + more + ' more' : ''), 'words', true);
        rows.push(tr);
      }
      cell(tr, String(t.count), 'num');
      cell(tr, String(t.unique_authors), 'num');
      cell(tr, t.started_at, 'when');
      cell(tr, t.status, t.status);
      if (t.kind !== 'link') cell(tr, t.category || 'other');
      cell(tr, t.language || '-');
      if (moderating) {
        const st = cell(tr, t.moderation + (t.denied_by ? ' (' + t.denied_by + ')' : ''), 'mod-only ' + t.moderation);
        st.title = t.denied_by || '';
        const td = cell(tr, '', 'mod-only');
        if (t.moderation !== 'denied') {
          if (t.moderation !== 'approved') button(td, 'approve', 'approve', t.id);
          if (t.moderation !== 'rejected') button(td, 'reject', 'reject', t.id);
        }
      }
    }
    body.replaceChildren(...rows);
    linkBody.replaceChildren(...linkRows);
    document.getElementById('no-links').hidden = linkRows.length > 0;
    for (const lang of Object.keys(data.languages || {})) addOption(lang);
    document.getElementById('clock').textContent = data.stream_time || '-';
    document.getElementById('mode').textContent = moderating ? 'moderator view (' + data.mode + ')' : '';
    document.getElementById('empty').hidden = rows.length > 0;
    document.getElementById('error').textContent = data.follower_error || data.error || '';
    table.dataset.updated = String(parseInt(table.dataset.updated, 10) + 1);
  }
  async function load() {
    const lang = encodeURIComponent(langSelect.value || 'all');
    if (!moderating) {
      const response = await fetch('/trends?kind=all&lang=' + lang, {headers: {'Accept': 'application/json'},
        cache: 'no-store'});
      if (!response.ok) throw new Error('GET /trends: HTTP ' + response.status);
      return response.json();
    }
    const [mod, pub] = await Promise.all([
      fetch('/moderation/trends?lang=' + lang, {headers: headers(false), cache: 'no-store'}),
      fetch('/trends?lang=all&limit=1', {headers: {'Accept': 'application/json'}, cache: 'no-store'})]);
    if (!mod.ok) throw new Error('GET /moderation/trends: HTTP ' + mod.status + ' ' + (await mod.text()).slice(0, 200));
    const data = await mod.json();
    const board = pub.ok ? await pub.json() : {};
    return Object.assign({}, board, data);
  }
  let busy = false;
  let again = false;
  async function refresh() {
    if (busy) { again = true; return; }  // one refresh at a time: a click during one asks for another
    busy = true;
    if (timer !== null) { clearTimeout(timer); timer = null; }
    try {
      document.body.classList.toggle('moderating', moderating);
      render(await load());
    } catch (err) {
      document.getElementById('error').textContent = String(err);
    } finally {
      busy = false;
      if (again) { again = false; refresh(); } else { timer = setTimeout(refresh, every); }
    }
  }
  function refreshNow() {
    refresh();
  }
  langSelect.addEventListener('change', () => {
    sessionStorage.setItem('trendlab.lang', langSelect.value);
    refreshNow();
  });
  document.getElementById('moderate-on').addEventListener('click', () => {
    moderating = true;
    sessionStorage.setItem('trendlab.moderating', '1');
    sessionStorage.setItem('trendlab.token', tokenInput.value);
    sessionStorage.setItem('trendlab.moderator', nameInput.value);
    refreshNow();
  });
  document.getElementById('moderate-off').addEventListener('click', () => {
    moderating = false;
    sessionStorage.removeItem('trendlab.moderating');
    refreshNow();
  });
  refresh();
})();
"""


def page(refresh_ms: int) -> str:
    return PAGE.replace("REFRESH_MS", str(int(refresh_ms)))
