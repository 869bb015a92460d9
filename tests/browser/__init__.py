"""Browser tests. A package, so that its conftest is ``browser.conftest`` and never replaces the
root ``conftest`` that test modules import helpers from."""
