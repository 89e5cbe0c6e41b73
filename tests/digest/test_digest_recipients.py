"""Issue 15 item 12: a leadership address the mailer cannot use is skipped with a note; the
digest still goes to everyone else (it used to fail the whole message)."""

from __future__ import annotations

from accountability.config.registry_file import load_registry_file
from accountability.usecases.digest import mail
from rules.registry import Registry
from tests.digest.conftest import EXAMPLE


def with_email(registry: Registry, person_id: str, email: str) -> Registry:
    """The registry with one address replaced, bypassing validation (which now refuses it):
    a registry loaded by an older version, or a model built in code, can still carry one."""
    people = dict(registry.people)
    people[person_id] = people[person_id].model_copy(update={"email": email})
    return registry.model_copy(update={"people": people})


def test_a_bad_leadership_address_is_skipped_with_a_note_and_the_rest_still_go() -> None:
    registry = load_registry_file(EXAMPLE).registry
    assert {"dana", "omar"} <= registry.expand(registry.leadership)
    broken = with_email(registry, "dana", "dana@acme.example>")
    recipients = mail.leadership(broken)
    assert recipients.people == ["omar"]
    assert [m.address for m in recipients.to] == ["omar@acme.example"]
    (note,) = recipients.notes
    assert note.startswith("dana (Dana Ruiz): 'dana@acme.example>' is not an address")
    assert "fix their email in the registry" in note
    # `compose` puts every recipient in the To header: that now works for all of them
    assert [str(m.header()) for m in recipients.to] == ["Omar Haddad <omar@acme.example>"]
