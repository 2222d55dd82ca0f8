"""The Friday digest: one PDF per company and one for the firm, made from the snapshot of what we
knew at Friday 07:00 local, stored with a JSON manifest of its figures, scheduled and e-mailed.

Public entry points: ``digest.make.make_digest`` / ``make_company_digest`` / ``make_firm_digest``,
``digest.schedule.run_due_digests`` / ``add_digest_jobs``, ``digest.ui.render_digest_page``.
"""
