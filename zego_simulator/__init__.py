"""A stand-in for ZEGO's server API (https://rtc-api.zego.im/), standard library only.

The console and the tests talk to it over real HTTP, through the same client they use against ZEGO, so
signing, timeouts and error handling are exercised for real. It shares only ``dashboard.zego.signing``
with the client: every other rule here is written from ZEGO's documentation, not from the client. It is
a development tool: the console's production code never imports it (``manage.py zego_simulator`` does).

Public API::

    sim = ZegoSimulator(app_id, server_secret, host="127.0.0.1", port=0, rate_limit=20,
                        slow_seconds=15, clock=time.time, quiet=False,
                        callback_url=None, callback_secret=None, callback_retry_delays=(2, 4, 8, 16, 32))
    sim.start()          # serve in a background thread; returns sim
    sim.url              # "http://127.0.0.1:54321/" (the port actually bound; port=0 picks a free one)
    sim.port, sim.host
    sim.tasks            # the thumbnail tasks created so far (SimTask, oldest first)
    sim.callbacks        # with callback_url: the CallbackSender (.deliveries: every POST and its status; .pending)
    sim.reset_scripts()  # the scripted FileIds start over (99901000 fails its next call again)
    sim.stop()           # stop serving and close the socket; safe to call twice
    sim.serve_forever()  # serve in the calling thread instead of start(), until stop() or an exception
    sim.app.handle(path) # the Reply to a GET of path, without the socket

    with ZegoSimulator(app_id, secret) as sim:   # start() on entry, stop() on exit
        ...

Endpoints:

- ``GET /?Action=MediaThumbnails|DescribeMediaTask&...``: the API, answering JSON
  ``{"Code", "Message", "RequestId", "Data"}`` with HTTP 200, as ZEGO documents.
- ``GET /thumbs/<TaskId>/<n>.png``: the Tencent thumbnails listed in ``ThumbnailsUrl``.
- ``GET /obs/snapshots/<task_id>/<n>.png``: the Huawei thumbnails whose storage paths are in ``FileName``.
- With ``callback_url``: ``POST callback_url`` of ZEGO's snapshot callback once a task has finished
  (URL-encoded JSON signed with ``callback_secret``), retried after 2, 4, 8, 16 and 32 s unless 2xx.
- An image path with no image (unknown, or its task not finished): 404 plain text. Any other path:
  404 JSON. Any other method: 405 JSON. A bug in a handler: 500 JSON (Code 100000015), logged.

The modules, one concern each: ``server`` (the socket, start and stop), ``app`` (routing, the Actions),
``gateway`` (AppId, signature, replay and rate checks), ``params`` (each Action's parameters),
``tasks`` (task status over time), ``callbacks`` (the snapshot callback it sends), ``images`` (the PNG
frames), ``scripted`` (the FileIds that fail on purpose), ``protocol`` (the query and the JSON envelope).

Each request is logged at INFO on the ``zego_simulator`` logger, the Signature value and the
ServerSecret redacted; ``quiet=True`` turns that off.
"""

from __future__ import annotations

from .app import SimulatorApp
from .protocol import Reply
from .scripted import SCRIPTED_FILE_IDS
from .server import ZegoSimulator
from .tasks import SimTask

__all__ = ["SCRIPTED_FILE_IDS", "Reply", "SimTask", "SimulatorApp", "ZegoSimulator"]
