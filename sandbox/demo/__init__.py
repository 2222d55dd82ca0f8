"""The deterministic demo firm: service agencies with 18 months of QuickBooks history, each in a
different cash situation (see docs/demo-firm.md).

``generate_company`` is pure (profile, seed, today, scale -> QBO documents per entity);
``build_demo_firm`` streams every company into a sandbox database and sets its clock.
"""

from sandbox.demo.build import DemoFirmExistsError, build_demo_firm
from sandbox.demo.generate import generate_company, history_start
from sandbox.demo.profiles import SITUATIONS, Profile, firm_profiles

__all__ = [
    "SITUATIONS",
    "DemoFirmExistsError",
    "Profile",
    "build_demo_firm",
    "firm_profiles",
    "generate_company",
    "history_start",
]
