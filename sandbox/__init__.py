"""A simulated QuickBooks Online company server (QBO Accounting API v3 + OAuth 2.0).

It stands alone (it imports nothing of ours but ``oodaloo.config``), so its face names public
modules rather than re-exporting: ``sandbox.app.create_app``,
``sandbox.transport.embedded_transport``, ``sandbox.state.SandboxDB`` (the generator-facing API),
the demo-firm generator (``sandbox.demo``) and ``sandbox.testing`` (test helpers). Every other
module is internal to the server.
"""

__all__ = ["app", "transport", "state", "demo", "testing"]
