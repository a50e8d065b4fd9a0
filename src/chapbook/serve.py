"""`chapbook serve`: the web edition on localhost, rebuilt whenever the book, the templates or the
styles change, and reloaded in the browser. A broken save shows its error in the page; the server
keeps running.

The live-reload script exists only in what this server sends: built files carry no script.
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import watchfiles

from chapbook.builders.html import render_book_html, screen_css
from chapbook.diagnostics import Diagnostics
from chapbook.errors import BookError, BookErrors
from chapbook.pipeline import load_book
from chapbook.resources import environment, styles_dir, templates_dir

RELOAD = ("<script>(function(){let seen=null;async function poll(){try{const r=await fetch("
          "'/__version',{cache:'no-store'});const v=await r.text();if(seen!==null&&v!==seen)"
          "location.reload();seen=v;}catch(e){}setTimeout(poll,300);}poll();})();</script>")


class Preview:
    """The current page (the book, or the error that stops it) and a version that changes with
    every rebuild."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest
        self.lock = threading.Lock()
        self.version = 0
        self.page = ""

    def rebuild(self) -> None:
        diagnostics = Diagnostics()
        try:
            environment.cache_clear()  # templates may have changed
            book = load_book(self.manifest, diagnostics)
            draft = render_book_html(book)
            page = render_book_html(book, screen_css=screen_css(draft), body_flavour="web")
        except (BookError, BookErrors) as error:
            page = environment().get_template("html/preview-error.html.j2").render(
                message=str(error))
        except Exception as error:  # a bug must not stop the preview either
            page = environment().get_template("html/preview-error.html.j2").render(
                message=f"chapbook failed: {error!r}")
        with self.lock:
            self.page = page
            self.version += 1

    def watched(self) -> list[Path]:
        return [self.manifest.parent.resolve(), templates_dir(), styles_dir()]


def _handler(preview: Preview) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with preview.lock:
                version, page = str(preview.version), preview.page
            if self.path == "/__version":
                body, kind = version.encode(), "text/plain"
            elif self.path in ("/", "/index.html") or self.path.startswith("/#"):
                body, kind = page.replace("</body>", RELOAD + "</body>").encode(), "text/html"
            else:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return  # quiet: the terminal shows rebuilds, not requests

    return Handler


def serve(manifest: Path, port: int, stop: threading.Event | None = None,
          announce=print) -> None:
    preview = Preview(manifest)
    preview.rebuild()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(preview))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    announce(f"chapbook: serving {manifest} at http://127.0.0.1:{server.server_port}/ "
             "(Ctrl-C stops)")
    stop = stop or threading.Event()
    try:
        for changes in watchfiles.watch(*preview.watched(), stop_event=stop,
                                        debounce=200, step=50):
            names = sorted({Path(path).name for _, path in changes})
            preview.rebuild()
            announce(f"chapbook: rebuilt after {', '.join(names)[:80]}")
    finally:
        server.shutdown()
        server.server_close()



