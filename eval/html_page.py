"""One self-contained HTML page: tables, PNG figures and an MP4 video embedded as data URIs, no scripts from outside.

A small inline script records, in the page itself, the embedded video's duration once its metadata loads and any
error the page meets (``#page-status``: ``data-video-duration``, ``data-errors``), so a headless browser can
check the page with ``--dump-dom``.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; white-space: nowrap; }
th { white-space: normal; }
.wide { overflow-x: auto; }
th { background: #f3f3f3; } td:nth-child(-n+3) { text-align: left; }
img, video { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.note { color: #555; font-size: 0.9em; } #page-status { color: #888; font-size: 0.8em; }
"""

# Records errors (script errors, failed loads, console.error) and the video's duration in #page-status.
CHECK_SCRIPT = """
(function () {
  var errors = [];
  function status() { return document.getElementById('page-status'); }
  function record(message) {
    errors.push(String(message));
    var node = status();
    if (node) { node.dataset.errors = String(errors.length); node.dataset.errorMessages = errors.join(' | '); }
  }
  window.addEventListener('error', function (event) {
    record(event.message || ('failed to load ' + ((event.target && (event.target.src || event.target.tagName)) || '?')));
  }, true);
  window.addEventListener('unhandledrejection', function (event) { record('unhandled rejection: ' + event.reason); });
  var consoleError = console.error;
  console.error = function () { record(Array.prototype.join.call(arguments, ' ')); consoleError.apply(console, arguments); };
  document.addEventListener('DOMContentLoaded', function () {
    var video = document.getElementById('episode-video');
    if (!video) { return; }
    function show() {
      status().dataset.videoDuration = String(video.duration);
      document.getElementById('video-duration').textContent = video.duration.toFixed(2) + ' s';
    }
    if (video.readyState >= 1) { show(); } else { video.addEventListener('loadedmetadata', show); }
    video.addEventListener('error', function () { record('video error ' + (video.error && video.error.code)); });
  });
})();
"""


@dataclass
class Section:
    """A titled part of the page; ``body`` is HTML."""

    title: str
    body: str


@dataclass
class Page:
    title: str
    intro: str = ""
    sections: list[Section] = field(default_factory=list)


def escape(text: object) -> str:
    return html.escape(str(text))


def table_html(headers: Sequence[str], rows: Sequence[Sequence[str]], table_id: str = "results-table") -> str:
    """An HTML table of text cells (escaped)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<div class="wide"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def image_html(png: bytes, caption: str) -> str:
    return f'<figure><img src="{data_uri(png, "image/png")}" alt="{escape(caption)}"><figcaption class="note">' \
           f"{escape(caption)}</figcaption></figure>"  # fmt: skip


def video_html(mp4: bytes, caption: str) -> str:
    """The episode video, embedded (``#episode-video``), with its duration filled in by the page script."""
    return (f'<video id="episode-video" controls muted loop playsinline preload="auto" '
            f'src="{data_uri(mp4, "video/mp4")}"></video><p class="note">{escape(caption)} '
            f'Duration: <span id="video-duration">(loading)</span>.</p>')  # fmt: skip


def pre_html(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def render_page(page: Page) -> str:
    """The whole document as one string."""
    sections = "".join(f"<section><h2>{escape(s.title)}</h2>{s.body}</section>" for s in page.sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(page.title)}</title>
<style>{STYLE}</style>
<script>{CHECK_SCRIPT}</script>
</head>
<body>
<h1>{escape(page.title)}</h1>
{page.intro}
{sections}
<p id="page-status" data-errors="0" data-video-duration="">Self-contained page: no server, no network.</p>
</body>
</html>
"""
