"""``tryon mirror``: the kiosk app a shopper meets, built on the engine's public API.

- :mod:`tryon.mirror.ui`: outfit slots, hands as pointers, dwell buttons, presence (pure logic)
- :mod:`tryon.mirror.draw`: drawing the interface on display frames
- :mod:`tryon.mirror.app`: frame sources, the window, the kiosk loop (:class:`MirrorApp`)
- :mod:`tryon.mirror.stream`: MJPEG over HTTP on 127.0.0.1
- :mod:`tryon.mirror.cli`: the ``mirror`` and ``calibrate`` subcommands
"""
