"""A simulated QuickBooks Online company server (QBO Accounting API v3 + OAuth 2.0).

Public entry points: ``sandbox.app.create_app``, ``sandbox.transport.embedded_transport``,
``sandbox.state.SandboxDB`` (the generator-facing API) and ``sandbox.testing`` (test helpers).
"""
