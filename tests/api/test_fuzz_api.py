"""Schemathesis against the app's own OpenAPI schema: no 5xx, every response matching it.

Kept short in the suite (``PONMODEL_FUZZ_EXAMPLES``, default 8 examples per operation); the
longer run is documented in the README: ``PONMODEL_FUZZ_EXAMPLES=200 python -m pytest
tests/api/test_fuzz_api.py``. The database holds the tiny fixture; operations that write
(import, reservations) may change it, and every response must still be well-formed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from ponmodel.api.main import create_app
from ponmodel.document import read_document
from ponmodel.keys import create_key
from ponmodel.settings import Settings
from ponmodel.storage import import_document, make_engine, migrate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
EXAMPLES = int(os.environ.get("PONMODEL_FUZZ_EXAMPLES", "8"))

_db = Path(tempfile.mkdtemp(prefix="ponmodel-fuzz-")) / "fuzz.db"
_engine = make_engine(f"sqlite:///{_db}")
migrate(_engine)
import_document(_engine, read_document(FIXTURES / "tiny.json"), replace=True)
app = create_app(Settings(database_url=f"sqlite:///{_db}"), engine=_engine)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
_, _token = create_key(_engine, role="admin", name="fuzzer")


@schema.auth()
class AdminKey:
    """Every generated request carries an admin key, set the way schemathesis knows of (so
    its own checks of missing or wrong credentials still run)."""

    def get(self, case: schemathesis.Case, ctx: object) -> str:
        return _token

    def set(self, case: schemathesis.Case, data: str, ctx: object) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
schemathesis.checks.load_all_checks()
# A schema-valid document can still break a rule no JSON Schema expresses (a reference to a
# missing id, a cycle): ponmodel answers 422 naming it, so "valid data must be accepted" is
# the one check that does not apply. Every other check runs, 5xx and schema conformance first.
SEMANTIC = {"positive_data_acceptance"}
CHECKS = [c for c in schemathesis.checks.CHECKS.get_all() if c.__name__ not in SEMANTIC]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_every_operation_answers_within_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)


class StatefulBase(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences that follow the schema's links (a reservation, then reads, confirmation or
    cancellation of that same reservation), every response checked as above."""

    def validate_response(self, response: object, case: schemathesis.Case,
                          **kwargs: object) -> None:
        case.validate_response(response, checks=CHECKS)


TestStatefulLinks = StatefulBase.TestCase
TestStatefulLinks.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=6, deadline=None,
    suppress_health_check=list(HealthCheck), derandomize=True,
)
