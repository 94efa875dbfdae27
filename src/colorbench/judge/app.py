"""The judging web app (Flask): one page, a small JSON API, served on 127.0.0.1 by default.

Flask because it is the lightest well-kept framework that covers this (routing, JSON, file responses, a
threaded WSGI server from Werkzeug) without an async stack; the page is plain HTML + a few lines of JavaScript.

Routes:

* ``GET /`` — the page (asks for a name once and keeps it in the browser's localStorage);
* ``GET /api/next?judge=NAME`` — the judge's next item: a token and image URLs, never the method names;
* ``POST /api/answer`` — JSON or form ``token``, ``answer``, ``truth_peeked``: 201 when stored, 400 malformed,
  404 unknown token, 409 already answered (a replay never adds a row), 412 an image of the item was never served
  (the page offers no answer until both images have loaded; the server checks it too);
* ``GET /image/<token>/<left|right|truth>`` — the image behind a side (fetching the truth records a peek).

Usage (a sketch, not run by the doctests: it starts a web server and blocks)::

    from colorbench.judge.app import create_app, serve
    serve("results/demo", port=8765)      # blocks; Ctrl-C stops
"""

from __future__ import annotations

import errno
import logging

from colorbench.extras import import_extra
from colorbench.judge.page import render_page
from colorbench.judge.session import JudgingSession
from colorbench.judge.store import AnswerRejected
from colorbench.messages import plural

# the judge extra (not in `make demo`'s install): one clear line naming it instead of a ModuleNotFoundError
_flask = import_extra("flask", "judge", "the judging app")
Flask, jsonify, request, send_file = _flask.Flask, _flask.jsonify, _flask.request, _flask.send_file

log = logging.getLogger("colorbench")


class PortInUse(OSError):
    """The chosen host:port is taken; the message says how to pick another."""


def create_app(session: JudgingSession) -> Flask:
    app = Flask("colorbench.judge")
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024  # an answer is a few dozen bytes

    @app.errorhandler(AnswerRejected)
    def rejected(exc: AnswerRejected):
        return jsonify(error=str(exc)), exc.status

    @app.errorhandler(404)
    def not_found(exc):
        return jsonify(error=f"no such page: {request.path}"), 404

    @app.errorhandler(413)
    def too_large(exc):
        return jsonify(error="request too large"), 413

    @app.get("/")
    def page():
        return render_page(session.mode, session.catalogue.run.path.name)

    @app.get("/api/next")
    def next_item():
        judge = request.args.get("judge", "")
        shown = session.next_for(judge)
        body = {"token": shown.token, "mode": shown.mode, "left": f"/image/{shown.token}/left",
                "right": f"/image/{shown.token}/right" if shown.right_method else None,
                "truth": f"/image/{shown.token}/truth" if session.has_truth(shown) else None,
                "answered": session.answered_by(shown.judge)}
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.post("/api/answer")
    def answer():
        data = request.get_json(silent=True) if request.is_json else request.form
        if not isinstance(data, dict) and not hasattr(data, "get"):
            raise AnswerRejected("the body must be a JSON object or a form with token and answer", 400)
        token, value, peeked = data.get("token"), data.get("answer"), data.get("truth_peeked", False)
        if not isinstance(token, str) or not isinstance(value, str):
            raise AnswerRejected("token and answer are required strings", 400)
        if isinstance(peeked, str):
            if peeked.lower() not in ("0", "1", "true", "false", ""):
                raise AnswerRejected(f"truth_peeked must be true or false, got {peeked!r}", 400)
            peeked = peeked.lower() in ("1", "true")
        elif not isinstance(peeked, bool):
            raise AnswerRejected("truth_peeked must be true or false", 400)
        row_id = session.answer(token, value, truth_peeked=peeked)
        return jsonify(ok=True, id=row_id), 201

    @app.get("/image/<token>/<side>")
    def image(token: str, side: str):
        response = send_file(session.image_path(token, side), mimetype="image/png", max_age=0)
        response.headers["Cache-Control"] = "no-store"  # a peek must reach the server every time
        return response

    return app


def make_server(session: JudgingSession, host: str = "127.0.0.1", port: int = 8765):
    """A threaded Werkzeug server bound to ``host:port`` (0: a free port); :class:`PortInUse` when taken."""
    from werkzeug.serving import make_server as _make_server

    _check_port_free(host, port)  # Werkzeug answers a taken port with sys.exit(1): find out first
    return _make_server(host, port, create_app(session), threaded=True)


def _check_port_free(host: str, port: int) -> None:
    import socket

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} is already in use: pass another with --port N "
                                "(or --port 0 for any free port)") from None
            raise


def serve(run, *, host: str = "127.0.0.1", port: int = 8765, mode: str = "pair", seed: int | None = None) -> None:
    session = JudgingSession(run, mode=mode, seed=seed)
    server = make_server(session, host, port)
    url = f"http://{host}:{server.server_port}/"
    catalogue = session.catalogue
    print(f"judging {catalogue.run.path} ({mode}, {plural(len(catalogue.methods), 'method')}, "
          f"{plural(len(catalogue.pair_images), 'image')}) at {url}\nanswers go to {session.store.path}; Ctrl-C stops",
          flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("warning: %s is reachable from other machines; anyone who can reach it can add judgements", url)
    server.serve_forever()
